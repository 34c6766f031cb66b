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


# --- Open innovation: a call, organisations and the people acting for them --------------------------------
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def challenge(db):
    from smartcity.models import SocietalChallenge

    return SocietalChallenge.objects.create(title="Liveable boulevard", description="Noise and litter in the evening.")


@pytest.fixture
def other_challenge(db):
    from smartcity.models import SocietalChallenge

    return SocietalChallenge.objects.create(title="Clean energy", description="Less energy, cleaner energy.")


@pytest.fixture
def call(challenge, innovation_member):
    import datetime as dt

    from django.utils import timezone

    from pilots.models import Call

    call = Call.objects.create(title="Quieter evenings", description="Ideas for a quieter boulevard.",
                               criteria="Feasibility\nCost", deadline=timezone.localdate() + dt.timedelta(days=30),
                               status=Call.Status.PUBLISHED, created_by=innovation_member)
    call.societal_challenges.add(challenge)
    return call


def _partner(email: str, organisation_name: str, verified: bool):
    from pilots.models import Organisation, OrganisationMember
    from tests.conftest import _user

    user = _user(email, display_name=organisation_name + " person")
    organisation = Organisation.objects.create(
        name=organisation_name, status=Organisation.Status.VERIFIED if verified else Organisation.Status.PENDING)
    OrganisationMember.objects.create(organisation=organisation, user=user)
    return user


@pytest.fixture
def partner(db):
    """Someone acting for a verified company."""
    return _partner("pia@quietco.example", "QuietCo", verified=True)


@pytest.fixture
def other_partner(db):
    """Someone acting for another verified company."""
    return _partner("otto@othercorp.example", "OtherCorp", verified=True)


@pytest.fixture
def unverified_partner(db):
    return _partner("una@newco.example", "NewCo", verified=False)


@pytest.fixture
def draft(call, partner, other_challenge):
    from pilots.models import Proposal

    proposal = Proposal.objects.create(
        call=call, organisation=partner.organisations.get(), title="Sound-absorbing planters",
        solution="Planters that absorb sound.", expected_effects="Noise complaints per week; complaints; 40; 25",
        scaling_changes="Maintenance contracts must include the planters.", created_by=partner)
    proposal.societal_challenges.add(other_challenge)
    return proposal


@pytest.fixture
def submitted(draft, partner):
    draft.submit(by=partner)
    return draft


@pytest.fixture
def second_assessor(db):
    from tests.conftest import _user

    return _user("ivo@example.org", display_name="Ivo Innovation", is_innovation_team=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
