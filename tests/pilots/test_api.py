"""The pilots API: import with a stage, gates on stage changes, KPIs, idempotent bulk measurements."""
from pilots.models import Gate, Pilot


def test_the_innovation_team_imports_a_pilot_with_only_reference_title_description_and_stage(token_client_for, innovation_member):
    client = token_client_for(innovation_member)
    response = client.post("/api/v1/pilots", {
        "reference": "p-1", "title": "Crowd sensors", "description": "Counting visitors on the boulevard.",
        "stage": "scaling"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "p-1" and body["stage"] == "scaling" and body["lead_department"] is None
    pilot = Pilot.objects.get(reference="p-1")
    assert pilot.stage == "scaling"
    assert [(g.kind, g.to_stage) for g in pilot.gates.all()] == [(Gate.Kind.IMPORT, "scaling")]
    listing = client.get("/api/v1/pilots").json()
    assert listing["count"] == 1 and listing["results"][0]["reference"] == "p-1"


def test_an_imported_stopped_pilot_needs_no_lessons_learned(token_client_for, admin_user):
    response = token_client_for(admin_user).post("/api/v1/pilots", {
        "reference": "p-2", "title": "Smart bins", "description": "Bins that report when full.", "stage": "stopped"},
        format="json")
    assert response.status_code == 201, response.content
    assert Pilot.objects.get(reference="p-2").stage == "stopped"
