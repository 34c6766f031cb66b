"""Pilot.advance and the gate rules, the stranded-pilot rules, the funnel and the measurement upsert."""
import datetime as dt

import pytest
from django.utils import timezone

from pilots.models import (
    KPI,
    Gate,
    GateCriterion,
    GateRefused,
    Measurement,
    MeasurementRow,
    Pilot,
    Stage,
    months_before,
)

pytestmark = pytest.mark.django_db


def test_the_default_criteria_are_seeded_with_sensible_requirements():
    required = {c.key: c.required_from for c in GateCriterion.objects.all()}
    assert required == {
        "value": "proof_of_concept", "success-criteria": "proof_of_concept", "owner": "pilot",
        "data-privacy": "pilot", "funding": "scaling", "scaling-kind": "scaling",
    }
    assert GateCriterion.objects.get(key="scaling-kind").options == ["roll-out", "expansion", "replication"]


def test_a_go_moves_the_pilot_one_stage_up_and_keeps_the_gate_as_history(pilot, innovation_member, all_answers):
    before = pilot.stage_changed_at
    gate = pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers,
                         decided_on=dt.date(2026, 3, 1), notes="Promising.")
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROOF_OF_CONCEPT and pilot.stage_changed_at > before
    assert (gate.from_stage, gate.to_stage, gate.decision, gate.decided_by) == (
        Stage.IDEA, Stage.PROOF_OF_CONCEPT, Gate.Decision.GO, innovation_member)
    assert gate.decided_on == dt.date(2026, 3, 1)
    assert {a.criterion.key: a.answer for a in gate.answers.all()} == all_answers
    pilot.advance(Stage.PILOT, by=innovation_member, answers=all_answers)
    assert list(pilot.gates.values_list("to_stage", flat=True)) == [Stage.PROOF_OF_CONCEPT, Stage.PILOT]


def test_a_pilot_cannot_advance_while_required_answers_are_missing(pilot, innovation_member, all_answers):
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers)
    partial = {key: value for key, value in all_answers.items() if key not in ("owner", "data-privacy")}
    with pytest.raises(GateRefused) as refused:
        pilot.advance(Stage.PILOT, by=innovation_member, answers=partial | {"owner": "   "})
    assert sorted(c.key for c in refused.value.missing) == ["data-privacy", "owner"]
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROOF_OF_CONCEPT
    assert pilot.gates.count() == 1  # nothing half-saved


def test_answers_required_only_for_later_gates_may_wait(pilot, innovation_member):
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member,
                  answers={"value": "Two challenges.", "success-criteria": "Baseline 40."})
    assert pilot.stage == Stage.PROOF_OF_CONCEPT


def test_a_pilot_cannot_skip_a_stage_or_move_down(pilot, innovation_member, all_answers):
    with pytest.raises(GateRefused, match="can only move to"):
        pilot.advance(Stage.SCALING, by=innovation_member, answers=all_answers)
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers)
    with pytest.raises(GateRefused):
        pilot.advance(Stage.IDEA, by=innovation_member, answers=all_answers)
    assert Pilot.objects.get(pk=pilot.pk).stage == Stage.PROOF_OF_CONCEPT


def test_no_go_and_revise_are_recorded_but_the_pilot_stays(pilot, innovation_member):
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, decision=Gate.Decision.REVISE,
                  answers={"value": "One challenge only."})
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, decision=Gate.Decision.NO_GO)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.IDEA
    assert list(pilot.gates.values_list("decision", flat=True)) == [Gate.Decision.REVISE, Gate.Decision.NO_GO]


def test_an_answer_to_a_criterion_with_options_must_be_one_of_them(pilot, innovation_member, all_answers):
    with pytest.raises(GateRefused, match="must be one of"):
        pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers | {"scaling-kind": "big"})


def test_an_inactive_criterion_is_not_asked(pilot, innovation_member, all_answers):
    GateCriterion.objects.filter(key="value").update(is_active=False)
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers={"success-criteria": "Baseline 40."})
    assert pilot.stage == Stage.PROOF_OF_CONCEPT


def test_stopping_from_any_stage_requires_lessons_learned(pilot, innovation_member, all_answers):
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers)
    with pytest.raises(GateRefused, match="lessons learned"):
        pilot.advance(Stage.STOPPED, by=innovation_member, lessons_learned="  ")
    gate = pilot.advance(Stage.STOPPED, by=innovation_member, lessons_learned="Residents wanted people, not tablets.")
    pilot.refresh_from_db()
    assert pilot.stage == Stage.STOPPED and pilot.lessons_learned == "Residents wanted people, not tablets."
    assert (gate.kind, gate.from_stage) == (Gate.Kind.STOP, Stage.PROOF_OF_CONCEPT)
    with pytest.raises(GateRefused, match="stopped already"):
        pilot.advance(Stage.STOPPED, by=innovation_member, lessons_learned="Again.")
    with pytest.raises(GateRefused):
        pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers)


def test_an_operational_pilot_can_only_be_stopped(innovation_member, all_answers):
    pilot = Pilot.objects.create(title="Rain meters", description="d", stage=Stage.OPERATIONAL)
    with pytest.raises(GateRefused, match="can only be stopped"):
        pilot.advance(Stage.OPERATIONAL, by=innovation_member, answers=all_answers)
    pilot.advance(Stage.STOPPED, by=innovation_member, lessons_learned="Replaced by the national system.")
    assert pilot.stage == Stage.STOPPED


def test_the_last_answers_prefill_the_next_gate(pilot, innovation_member, all_answers):
    pilot.advance(Stage.PROOF_OF_CONCEPT, by=innovation_member, answers=all_answers)
    pilot.advance(Stage.PILOT, by=innovation_member, decision=Gate.Decision.REVISE, answers={"owner": "Nobody yet."})
    assert pilot.latest_answers()["owner"] == "Nobody yet."
    assert pilot.latest_answers()["funding"] == all_answers["funding"]


# --- Stranded pilots ------------------------------------------------------------------------------
NOW = timezone.make_aware(dt.datetime(2026, 11, 1, 12, 0))


def _pilot_in_stage_since(moment: dt.datetime, **fields) -> Pilot:
    return Pilot.objects.create(title="P", description="d", stage_changed_at=moment, **fields)


def _stranded(months: int = 6) -> set[int]:
    return set(Pilot.objects.stranded(now=NOW, months=months).values_list("pk", flat=True))


def test_months_before_keeps_the_day_or_takes_the_months_last():
    assert months_before(NOW, 6) == timezone.make_aware(dt.datetime(2026, 5, 1, 12, 0))
    aware = timezone.make_aware(dt.datetime(2026, 8, 31, 8, 0))
    assert months_before(aware, 6).date() == dt.date(2026, 2, 28)


def test_a_pilot_without_decision_or_measurement_for_the_window_is_stranded():
    quiet = _pilot_in_stage_since(NOW - dt.timedelta(days=200))
    fresh = _pilot_in_stage_since(NOW - dt.timedelta(days=100))
    assert _stranded() == {quiet.pk}
    assert _stranded(months=3) == {quiet.pk, fresh.pk}


def test_a_recent_measurement_or_gate_decision_keeps_a_pilot_off_the_stranded_list(innovation_member):
    measured = _pilot_in_stage_since(NOW - dt.timedelta(days=400))
    kpi = KPI.objects.create(pilot=measured, name="Visitors")
    kpi.upsert_measurements([MeasurementRow(NOW - dt.timedelta(days=10), 5.0)])
    decided = _pilot_in_stage_since(NOW - dt.timedelta(days=400))
    Gate.objects.create(pilot=decided, from_stage="idea", to_stage="proof_of_concept", decision=Gate.Decision.NO_GO,
                        decided_on=(NOW - dt.timedelta(days=30)).date())
    old_measurement = _pilot_in_stage_since(NOW - dt.timedelta(days=400))
    KPI.objects.create(pilot=old_measurement, name="Visitors").upsert_measurements(
        [MeasurementRow(NOW - dt.timedelta(days=300), 5.0)])
    assert _stranded() == {old_measurement.pk}


def test_recording_a_stage_at_import_is_not_a_decision(innovation_member):
    imported = _pilot_in_stage_since(NOW - dt.timedelta(days=400), stage=Stage.PILOT)
    imported.record_initial_stage(by=innovation_member)  # dated today, but not a decision
    Gate.objects.filter(pilot=imported).update(decided_on=(NOW - dt.timedelta(days=5)).date())
    assert _stranded() == {imported.pk}


def test_a_pilot_past_its_end_date_without_a_decision_since_is_stranded():
    overdue = _pilot_in_stage_since(NOW - dt.timedelta(days=20), end_date=(NOW - dt.timedelta(days=10)).date())
    decided = _pilot_in_stage_since(NOW - dt.timedelta(days=20), end_date=(NOW - dt.timedelta(days=10)).date())
    Gate.objects.create(pilot=decided, from_stage="idea", to_stage="proof_of_concept", decision=Gate.Decision.REVISE,
                        decided_on=(NOW - dt.timedelta(days=2)).date())
    running = _pilot_in_stage_since(NOW - dt.timedelta(days=20), end_date=(NOW + dt.timedelta(days=10)).date())
    assert _stranded() == {overdue.pk}
    row = Pilot.objects.with_stranding(now=NOW, months=6).get(pk=overdue.pk)
    assert (row.is_overdue, row.is_inactive) == (True, False)
    assert running.pk not in _stranded()


def test_pilots_awaiting_a_decision_are_the_stranded_and_those_sent_back_by_a_revise():
    recent = NOW - dt.timedelta(days=20)
    overdue = _pilot_in_stage_since(recent, end_date=(NOW - dt.timedelta(days=10)).date())
    quiet = _pilot_in_stage_since(NOW - dt.timedelta(days=400))
    revise = _pilot_in_stage_since(recent)
    Gate.objects.create(pilot=revise, from_stage="idea", to_stage="proof_of_concept", decision=Gate.Decision.REVISE,
                        decided_on=(NOW - dt.timedelta(days=3)).date())
    revised_then_go = _pilot_in_stage_since(recent)
    Gate.objects.create(pilot=revised_then_go, from_stage="idea", to_stage="proof_of_concept",
                        decision=Gate.Decision.REVISE, decided_on=(NOW - dt.timedelta(days=9)).date())
    Gate.objects.create(pilot=revised_then_go, from_stage="idea", to_stage="proof_of_concept",
                        decision=Gate.Decision.GO, decided_on=(NOW - dt.timedelta(days=2)).date())
    _pilot_in_stage_since(recent)  # running, on time: nothing to decide
    stopped = _pilot_in_stage_since(recent, stage=Stage.STOPPED)
    Gate.objects.create(pilot=stopped, from_stage="idea", to_stage="proof_of_concept", decision=Gate.Decision.REVISE,
                        decided_on=(NOW - dt.timedelta(days=3)).date())
    rows = list(Pilot.objects.awaiting_decision(now=NOW, months=6))
    assert [row.pk for row in rows] == [quiet.pk, overdue.pk, revise.pk]  # longest in their stage first
    why = {row.pk: (bool(row.is_overdue), bool(row.is_inactive), bool(row.is_revise)) for row in rows}
    assert why == {overdue.pk: (True, False, False), quiet.pk: (False, True, False), revise.pk: (False, False, True)}


def test_operational_and_stopped_pilots_do_not_strand():
    long_ago = NOW - dt.timedelta(days=1000)
    _pilot_in_stage_since(long_ago, stage=Stage.OPERATIONAL, end_date=long_ago.date())
    _pilot_in_stage_since(long_ago, stage=Stage.STOPPED, end_date=long_ago.date())
    assert _stranded() == set()


def test_the_window_comes_from_the_pilot_stranded_months_setting(settings):
    quiet = _pilot_in_stage_since(NOW - dt.timedelta(days=100))
    settings.PILOT_STRANDED_MONTHS = 3
    assert set(Pilot.objects.stranded(now=NOW).values_list("pk", flat=True)) == {quiet.pk}
    settings.PILOT_STRANDED_MONTHS = 6
    assert not Pilot.objects.stranded(now=NOW).exists()


def test_the_funnel_counts_every_stage():
    for stage in (Stage.IDEA, Stage.IDEA, Stage.PILOT, Stage.STOPPED):
        Pilot.objects.create(title="P", description="d", stage=stage)
    funnel = {step["stage"]: (step["count"], step["percent"]) for step in Pilot.objects.funnel()}
    assert funnel == {"idea": (2, 100), "proof_of_concept": (0, 0), "pilot": (1, 50), "scaling": (0, 0),
                      "operational": (0, 0), "stopped": (1, 50)}


# --- Measurements -------------------------------------------------------------------------------
def test_upserting_measurements_is_idempotent_per_kpi_and_timestamp(pilot):
    kpi = KPI.objects.create(pilot=pilot, name="Complaints", unit="per week")
    moment = timezone.make_aware(dt.datetime(2026, 5, 1, 9, 0))
    rows = [MeasurementRow(moment, 40.0, "sensor-1"), MeasurementRow(moment + dt.timedelta(days=7), 38.0, "sensor-1")]
    assert kpi.upsert_measurements(rows) == (2, 0)
    assert kpi.upsert_measurements(rows) == (0, 2)
    same_instant_in_utc = moment.astimezone(dt.UTC)
    assert kpi.upsert_measurements([MeasurementRow(same_instant_in_utc, 41.0, "correction")]) == (0, 1)
    assert list(kpi.measurements.values_list("value", "source")) == [(41.0, "correction"), (38.0, "sensor-1")]
    assert Measurement.objects.count() == 2


def test_within_one_batch_the_last_value_for_a_timestamp_wins(pilot):
    kpi = KPI.objects.create(pilot=pilot, name="Complaints")
    moment = timezone.make_aware(dt.datetime(2026, 5, 1, 9, 0))
    assert kpi.upsert_measurements([MeasurementRow(moment, 1.0), MeasurementRow(moment, 2.0)]) == (1, 0)
    assert kpi.measurements.get().value == 2.0
