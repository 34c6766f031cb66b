import pytest
from django.core.management import call_command

from pilots.models import KPI, Gate, Measurement, Pilot

pytestmark = pytest.mark.usefixtures("remembered_vectors")  # the demo's texts encoded once (tests/conftest.py)


def test_the_demo_pilots_load_twice_without_duplicates_and_show_every_rule(db):
    call_command("load_demo", verbosity=0)
    call_command("load_demo_pilots", verbosity=0)
    counts = (Pilot.objects.count(), Gate.objects.count(), KPI.objects.count(), Measurement.objects.count())
    call_command("load_demo_pilots", verbosity=0)
    assert (Pilot.objects.count(), Gate.objects.count(), KPI.objects.count(), Measurement.objects.count()) == counts
    assert {step["stage"] for step in Pilot.objects.funnel() if step["count"]} == {
        "idea", "proof_of_concept", "pilot", "scaling", "operational", "stopped"}
    stranded = {p.reference: (p.is_inactive, p.is_overdue) for p in Pilot.objects.stranded()}
    assert stranded == {"demo-pilot-schoolstraat": (True, False), "demo-pilot-bakfiets": (False, True)}
    scaling = Pilot.objects.get(reference="demo-pilot-drukte")
    assert list(scaling.gates.values_list("kind", "to_stage", "decision")) == [
        ("import", "idea", "go"), ("gate", "proof_of_concept", "revise"), ("gate", "proof_of_concept", "go"),
        ("gate", "pilot", "go"), ("gate", "scaling", "go")]
    assert Pilot.objects.get(reference="demo-pilot-buurtbot").lessons_learned
