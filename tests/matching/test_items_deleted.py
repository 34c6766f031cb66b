"""Suggestions and stored vectors point at their item with a real foreign key: deleting the item deletes them
(ON DELETE CASCADE), and a decision on a suggestion of a deleted item is a 404, not a 500 (issue #15)."""
import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from matching.models import Suggestion, TextVector
from participation.models import Report
from pilots.models import Pilot
from smartcity.models import SocietalChallenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def challenge():
    return SocietalChallenge.objects.create(title="Drukte op de boulevard", description="Te veel bezoekers.")


def test_deciding_a_suggestion_of_a_pilot_deleted_meanwhile_is_not_found(client, innovation_member, challenge):
    pilot = Pilot.objects.create(title="Crowd sensors", description="Counting visitors.")
    suggestion = Suggestion.objects.create(pilot=pilot, societal_challenge=challenge, score=0.8)
    client.force_login(innovation_member)
    page = client.get(pilot.get_absolute_url())  # the page that offers the decision
    assert reverse("matching:suggestion-decide", args=[suggestion.pk]) in page.content.decode()
    pilot.delete()
    assert not Suggestion.objects.filter(pk=suggestion.pk).exists()
    response = client.post(reverse("matching:suggestion-decide", args=[suggestion.pk]), {"decision": "accepted"})
    assert response.status_code == 404


def test_the_api_answers_a_suggestion_of_a_deleted_pilot_with_404_problem_json(token_client_for, innovation_member,
                                                                             challenge):
    pilot = Pilot.objects.create(title="Crowd sensors", description="Counting visitors.")
    suggestion = Suggestion.objects.create(pilot=pilot, societal_challenge=challenge, score=0.8)
    pilot.delete()
    response = token_client_for(innovation_member).patch(f"/api/v1/suggestions/{suggestion.pk}",
                                                          {"status": "accepted"}, format="json")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_deleting_a_report_deletes_its_suggestions_and_its_vector(challenge):
    report = Report.objects.create(title="Druk", description="Veel te druk hier.", latitude=52.1, longitude=4.27)
    other = Report.objects.create(title="Ook druk", description="Ook hier te druk.", latitude=52.1, longitude=4.27)
    Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.7)
    Suggestion.objects.create(report=other, societal_challenge=challenge, score=0.7)
    TextVector.objects.create(report=report, fingerprint="f", vector=b"\0\0\0\0")
    report.delete()
    assert list(Suggestion.objects.values_list("report_id", flat=True)) == [other.pk]
    assert not TextVector.objects.exists()


def test_a_suggestion_names_exactly_one_item_and_one_per_item_and_challenge(challenge):
    report = Report.objects.create(title="Druk", description="Veel te druk hier.", latitude=52.1, longitude=4.27)
    pilot = Pilot.objects.create(title="Crowd sensors", description="Counting visitors.")
    with pytest.raises(IntegrityError), transaction.atomic():
        Suggestion.objects.create(societal_challenge=challenge, score=0.5)  # none
    with pytest.raises(IntegrityError), transaction.atomic():
        Suggestion.objects.create(report=report, pilot=pilot, societal_challenge=challenge, score=0.5)  # two
    Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.6)  # the same pair again
    suggestion = Suggestion.objects.get()
    assert (suggestion.item_type, suggestion.item_id, suggestion.item) == ("report", report.pk, report)
