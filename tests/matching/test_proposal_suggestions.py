"""The engine suggests which societal challenges a partner's proposal serves, as it does for a pilot (issue #21).
Proposals are confidential until decided: the suggestions are computed for the assessors and never stored."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from matching import services
from matching.models import Suggestion
from pilots.models import Call, Organisation, Proposal
from tests.matching.test_runs import city  # noqa: F401  (the fixture)


def _proposal(challenges) -> Proposal:
    call = Call.objects.create(title="Dry streets", description="d", criteria="",
                               deadline=timezone.localdate() + dt.timedelta(days=5), status=Call.Status.PUBLISHED)
    call.societal_challenges.add(challenges["lighting"])
    return Proposal.objects.create(
        call=call, organisation=Organisation.objects.create(name="WaterCo"), title="Regenwater opvangen in wadi's",
        solution="Wadi's en groene daken vangen het regenwater van hevige regenbuien op, zodat het riool het "
                 "kan afvoeren en straten, kelders en onderdoorgangen niet meer onder water lopen.")


def test_without_a_fitted_model_there_are_no_suggestions(city):  # noqa: F811
    assert services.proposal_suggestions(proposal=_proposal(city["challenges"])) == []


def test_a_proposal_gets_the_challenges_it_serves_beyond_the_calls_own(city, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    proposal = _proposal(city["challenges"])
    stored = Suggestion.objects.count()
    found = services.proposal_suggestions(proposal=proposal)
    assert found and found[0]["societal_challenge"] == city["challenges"]["flooding"]
    assert city["challenges"]["lighting"] not in [item["societal_challenge"] for item in found]  # the call's own
    assert Suggestion.objects.count() == stored  # nothing stored: the proposal is confidential


def test_the_document_is_fed_to_the_engine_as_a_pilot(city):  # noqa: F811
    proposal = _proposal(city["challenges"])
    document = services.proposal_document(proposal)
    assert document.kind == "pilot" and document.key == f"proposal:{proposal.pk}"
    assert document.linked == (str(city["challenges"]["lighting"].pk),)
