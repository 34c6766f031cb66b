"""A gate answer chosen from the criterion's options is shown in the reader's language (issue #17: "roll-out"
stood untranslated among Dutch text)."""
from django.utils import translation

from pilots.models import GateAnswer, GateCriterion


def test_a_chosen_option_is_translated_and_free_text_is_kept_as_written():
    criterion = GateCriterion(key="scaling-kind", question="Which kind of scaling?",
                              options=["roll-out", "expansion", "replication"])
    chosen = GateAnswer(criterion=criterion, question=criterion.question, answer="roll-out")
    written = GateAnswer(criterion=criterion, question=criterion.question, answer="roll-out in drie wijken")
    with translation.override("nl"):
        assert chosen.localized_answer == "uitrol"
        assert written.localized_answer == "roll-out in drie wijken"
    with translation.override("sv"):
        assert chosen.localized_answer == "utrullning"
