"""The browsable API reference passes axe-core on a phone."""
import pytest

from tests.e2e.conftest import check_accessibility

pytestmark = pytest.mark.services


def test_the_api_reference_passes_axe_on_a_phone(phone_page, transactional_db):
    phone_page.goto("/api/v1/docs")
    assert phone_page.locator("h3 code", has_text="POST /api/v1/reports").count() == 1
    check_accessibility(phone_page, "api-docs")
