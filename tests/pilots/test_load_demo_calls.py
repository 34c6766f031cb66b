import pytest
from django.core.management import call_command

from pilots.models import Call, FeedbackAnswer, Measurement, Organisation, Proposal

pytestmark = pytest.mark.usefixtures("remembered_vectors")  # the demo's texts encoded once (tests/conftest.py)


def test_the_demo_open_call_loads_twice_with_an_accepted_proposal_and_resident_feedback(db):
    call_command("load_demo", verbosity=0)
    call_command("load_demo_calls", verbosity=0)
    counts = (Call.objects.count(), Proposal.objects.count(), Organisation.objects.count(),
              FeedbackAnswer.objects.count(), Measurement.objects.count())
    call_command("load_demo_calls", verbosity=0)
    assert (Call.objects.count(), Proposal.objects.count(), Organisation.objects.count(),
            FeedbackAnswer.objects.count(), Measurement.objects.count()) == counts
    call = Call.objects.get()
    assert call.is_open and call.societal_challenges.exists()
    assert sorted(call.proposals.values_list("status", flat=True)) == ["accepted", "submitted"]
    accepted = call.proposals.get(status="accepted")
    assert accepted.pilot.partners.get().organisation == accepted.organisation
    assert accepted.pilot.societal_challenges.count() == 2
    answers = FeedbackAnswer.objects.select_related("question__kpi_positive")
    assert answers.count() == 12
    series = list(answers.first().question.kpi_positive.measurements.values_list("value", flat=True))
    assert len(series) == 6 and series[-1] > series[0]
