import pytest

from pilots.criteria import ensure_default_criteria
from pilots.models import GateCriterion, Pilot

# The answers that satisfy every default criterion (seeded by pilots/migrations/0002).
ALL_ANSWERS = {
    "value": "Residents on the boulevard; waste and enforcement teams.",
    "success-criteria": "Noise complaints per week, baseline 40, target 25.",
    "owner": "Head of the district team.",
    "data-privacy": "DPIA done; only counts, no images.",
    "funding": "The district's operating budget from next year.",
    "scaling-kind": "roll-out",
}


@pytest.fixture(autouse=True)
def gate_criteria(db) -> None:
    """The default criteria come from a data migration; a browser test's flush may have removed them."""
    ensure_default_criteria(GateCriterion)


@pytest.fixture
def all_answers() -> dict[str, str]:
    assert set(ALL_ANSWERS) == set(GateCriterion.objects.values_list("key", flat=True))
    return dict(ALL_ANSWERS)


@pytest.fixture
def pilot(department_a, department_b) -> Pilot:
    """A pilot led by department A (the civil servant's); department B takes no part."""
    return Pilot.objects.create(title="Crowd sensors", description="Counting visitors.", lead_department=department_a)


@pytest.fixture(autouse=True)
def in_english(settings):
    """The assertions read English texts; the site's default language is Dutch."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
