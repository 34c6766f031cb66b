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


# --- Stage changes pass the gates ---------------------------------------------------------------
def test_a_stage_change_by_patch_without_the_required_answers_is_a_409_naming_them(token_client_for, innovation_member, pilot):
    client = token_client_for(innovation_member)
    response = client.patch(f"/api/v1/pilots/{pilot.pk}", {"stage": "proof_of_concept", "title": "Renamed"}, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert "required answers are missing" in body["detail"]
    assert {p["name"] for p in body["invalidParams"]} == {"answers.value", "answers.success-criteria"}
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.title) == ("idea", "Crowd sensors")  # the title change was rolled back too


def test_a_stage_change_by_patch_with_the_answers_passes_the_gate(token_client_for, innovation_member, pilot, all_answers):
    response = token_client_for(innovation_member).patch(
        f"/api/v1/pilots/{pilot.pk}", {"stage": "proof_of_concept", "answers": all_answers}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "proof_of_concept"
    gate = pilot.gates.get()
    assert (gate.to_stage, gate.decision, gate.decided_by) == ("proof_of_concept", "go", innovation_member)


def test_skipping_a_stage_by_patch_is_refused(token_client_for, innovation_member, pilot, all_answers):
    response = token_client_for(innovation_member).patch(
        f"/api/v1/pilots/{pilot.pk}", {"stage": "operational", "answers": all_answers}, format="json")
    assert response.status_code == 409
    assert "can only move to" in response.json()["detail"]


def test_stopping_by_patch_needs_lessons_learned(token_client_for, innovation_member, pilot):
    client = token_client_for(innovation_member)
    refused = client.patch(f"/api/v1/pilots/{pilot.pk}", {"stage": "stopped"}, format="json")
    assert refused.status_code == 409
    assert [p["name"] for p in refused.json()["invalidParams"]] == ["lessons_learned"]
    stopped = client.patch(f"/api/v1/pilots/{pilot.pk}", {"stage": "stopped", "lessons_learned": "Too early."},
                           format="json")
    assert stopped.status_code == 200, stopped.content
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.lessons_learned) == ("stopped", "Too early.")


def test_an_unknown_stage_is_a_400_listing_the_field(token_client_for, innovation_member, pilot):
    response = token_client_for(innovation_member).patch(f"/api/v1/pilots/{pilot.pk}", {"stage": "done"}, format="json")
    assert response.status_code == 400
    assert [p["name"] for p in response.json()["invalidParams"]] == ["stage"]


def test_only_the_innovation_team_changes_pilots_and_records_gates(token_client_for, civil_servant, pilot, all_answers):
    client = token_client_for(civil_servant)  # a member of the pilot's own lead department
    assert client.patch(f"/api/v1/pilots/{pilot.pk}", {"stage": "proof_of_concept", "answers": all_answers},
                        format="json").status_code == 403
    assert client.post(f"/api/v1/pilots/{pilot.pk}/gates", {"to_stage": "proof_of_concept", "answers": all_answers},
                       format="json").status_code == 403
    assert client.post("/api/v1/pilots", {"title": "x", "description": "y"}, format="json").status_code == 403
    pilot.refresh_from_db()
    assert pilot.stage == "idea" and not pilot.gates.exists()


def test_gates_are_recorded_and_listed_through_the_gates_endpoint(token_client_for, api_client, innovation_member, pilot, all_answers):
    client = token_client_for(innovation_member)
    revise = client.post(f"/api/v1/pilots/{pilot.pk}/gates", {
        "to_stage": "proof_of_concept", "decision": "revise", "decided_on": "2026-03-01",
        "answers": {"value": "Only one challenge so far."}, "notes": "Find a second department."}, format="json")
    assert revise.status_code == 201, revise.content
    go = client.post(f"/api/v1/pilots/{pilot.pk}/gates", {"to_stage": "proof_of_concept", "answers": all_answers},
                     format="json")
    assert go.status_code == 201
    listing = client.get(f"/api/v1/pilots/{pilot.pk}/gates").json()
    assert [(g["decision"], g["decided_on"] if g["decision"] == "revise" else "-") for g in listing["results"]] == [
        ("revise", "2026-03-01"), ("go", "-")]
    assert listing["results"][0]["answers"][0] == {"key": "value", "question": listing["results"][0]["answers"][0]["question"],
                                                   "answer": "Only one challenge so far."}
    api_client.credentials()
    public = api_client.get(f"/api/v1/pilots/{pilot.pk}/gates").json()["results"][0]
    assert "answers" not in public and "notes" not in public


def test_the_public_api_leaves_out_budget_and_internal_notes(api_client, token_client_for, innovation_member, pilot):
    pilot.budget, pilot.internal_notes = 12000, "Partner wants exclusivity."
    pilot.save()
    assert "budget" not in api_client.get(f"/api/v1/pilots/{pilot.pk}").json()
    internal = token_client_for(innovation_member).get(f"/api/v1/pilots/{pilot.pk}").json()
    assert internal["budget"] == "12000.00" and internal["internal_notes"] == "Partner wants exclusivity."


def test_a_reference_is_unique_among_pilots_and_blank_means_none(token_client_for, innovation_member):
    client = token_client_for(innovation_member)
    assert client.post("/api/v1/pilots", {"reference": "", "title": "a", "description": "b"}, format="json").status_code == 201
    assert client.post("/api/v1/pilots", {"reference": "", "title": "c", "description": "d"}, format="json").status_code == 201
    assert client.post("/api/v1/pilots", {"reference": "x", "title": "e", "description": "f"}, format="json").status_code == 201
    taken = client.post("/api/v1/pilots", {"reference": "x", "title": "g", "description": "h"}, format="json")
    assert taken.status_code == 400 and taken.json()["invalidParams"][0]["name"] == "reference"
    assert Pilot.objects.filter(reference__isnull=True).count() == 2


# --- KPIs and measurements ---------------------------------------------------------------------
def _kpi(pilot, **fields):
    from pilots.models import KPI

    return KPI.objects.create(pilot=pilot, name=fields.pop("name", "Complaints"), **fields)


def test_a_pilots_department_defines_kpis_and_another_department_cannot(token_client_for, civil_servant, other_civil_servant, innovation_member, pilot):
    body = {"name": "Noise complaints", "unit": "per week", "baseline": 40, "target": 25, "direction": "lower"}
    refused = token_client_for(other_civil_servant).post(f"/api/v1/pilots/{pilot.pk}/kpis", body, format="json")
    assert refused.status_code == 403
    assert token_client_for(innovation_member).post(f"/api/v1/pilots/{pilot.pk}/kpis", body, format="json").status_code == 403
    created = token_client_for(civil_servant).post(f"/api/v1/pilots/{pilot.pk}/kpis", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["direction"] == "lower"
    duplicate = token_client_for(civil_servant).post(f"/api/v1/pilots/{pilot.pk}/kpis", body, format="json")
    assert duplicate.status_code == 400


def test_a_participating_department_may_post_measurements(token_client_for, other_civil_servant, department_b, pilot):
    kpi = _kpi(pilot)
    url = f"/api/v1/kpis/{kpi.pk}/measurements"
    batch = [{"measured_at": "2026-05-01T09:00:00+02:00", "value": 3}]
    assert token_client_for(other_civil_servant).post(url, batch, format="json").status_code == 403
    pilot.departments.add(department_b)
    assert token_client_for(other_civil_servant).post(url, batch, format="json").status_code == 200


def test_bulk_posting_measurements_is_idempotent_per_timestamp(token_client_for, civil_servant, pilot):
    kpi = _kpi(pilot)
    client = token_client_for(civil_servant)
    url = f"/api/v1/kpis/{kpi.pk}/measurements"
    batch = [{"measured_at": f"2026-05-0{day}T09:00:00+02:00", "value": 40 - day, "source": "sensor-7"} for day in range(1, 6)]
    first = client.post(url, batch, format="json")
    assert first.status_code == 200, first.content
    assert first.json() == {"received": 5, "created": 5, "updated": 0}
    again = client.post(url, batch, format="json")
    assert again.json() == {"received": 5, "created": 0, "updated": 5}
    # The same instant written in UTC is the same measurement.
    corrected = client.post(url, [{"measured_at": "2026-05-01T07:00:00Z", "value": 99}], format="json")
    assert corrected.json() == {"received": 1, "created": 0, "updated": 1}
    assert kpi.measurements.count() == 5
    series = client.get(url).json()
    assert series["count"] == 5 and series["results"][0]["value"] == 99 and series["results"][1]["source"] == "sensor-7"


def test_a_bad_batch_lists_every_bad_item_by_index_and_stores_nothing(token_client_for, civil_servant, pilot):
    kpi = _kpi(pilot)
    response = token_client_for(civil_servant).post(f"/api/v1/kpis/{kpi.pk}/measurements", [
        {"measured_at": "2026-05-01T09:00:00Z", "value": 1},
        {"measured_at": "yesterday", "value": 2},
        {"measured_at": "2026-05-03T09:00:00Z", "value": "lots"},
        {"value": 4},
    ], format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert sorted(p["name"] for p in response.json()["invalidParams"]) == ["1.measured_at", "2.value", "3.measured_at"]
    assert not kpi.measurements.exists()


def test_a_single_measurement_object_is_accepted_too(token_client_for, civil_servant, pilot):
    kpi = _kpi(pilot)
    response = token_client_for(civil_servant).post(
        f"/api/v1/kpis/{kpi.pk}/measurements", {"measured_at": "2026-05-01T09:00:00Z", "value": 1.5}, format="json")
    assert response.status_code == 200 and kpi.measurements.get().source == "api"


def test_the_openapi_document_lists_the_pilot_endpoints(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/pilots", "/pilots/{id}/gates", "/pilots/{id}/kpis", "/kpis/{id}/measurements"):
        assert path in paths


def test_a_new_or_reworded_pilot_is_queued_for_matching_after_commit(token_client_for, innovation_member, monkeypatch):
    queued = []
    # Scoring is queued through the outbox (smartcity/outbox.py).
    monkeypatch.setattr("matching.services.outbox_enqueue",
                        lambda task, key=None, **kwargs: queued.append(kwargs) if task.endswith("score_item") else None)
    client = token_client_for(innovation_member)
    pk = client.post("/api/v1/pilots", {"title": "a", "description": "b"}, format="json").json()["id"]
    client.patch(f"/api/v1/pilots/{pk}", {"results_summary": "Going well."}, format="json")
    client.patch(f"/api/v1/pilots/{pk}", {"description": "Noise sensors near the harbour."}, format="json")
    assert queued == [{"item_type": "pilot", "item_id": pk}] * 2


def test_gate_answers_without_a_stage_change_are_refused(token_client_for, innovation_member, pilot):
    response = token_client_for(innovation_member).patch(
        f"/api/v1/pilots/{pilot.pk}", {"answers": {"value": "x"}}, format="json")
    assert response.status_code == 400 and response.json()["invalidParams"][0]["name"] == "answers"


def test_another_department_cannot_patch_a_kpi_even_with_bad_input(token_client_for, other_civil_servant, civil_servant, pilot):
    kpi = _kpi(pilot, target=25)
    url = f"/api/v1/kpis/{kpi.pk}"
    assert token_client_for(other_civil_servant).patch(url, {"target": "lots"}, format="json").status_code == 403
    assert token_client_for(civil_servant).patch(url, {"target": 20}, format="json").status_code == 200
    kpi.refresh_from_db()
    assert kpi.target == 20
