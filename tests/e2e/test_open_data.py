"""The open-data page in a real browser: it passes axe-core, and its download button streams the CSV."""
import pytest

from participation.models import Report
from smartcity.models import Theme
from tests.e2e.conftest import check_accessibility

pytestmark = pytest.mark.services


def test_the_open_data_page_passes_axe_and_downloads_the_filtered_csv(phone_page, transactional_db):
    theme = Theme.objects.create(slug="mobility", name="Mobility")
    Report.objects.create(title="Broken bicycle rack", description="Bent and unusable.", theme=theme,
                          latitude=52.08, longitude=4.31)
    Report.objects.create(title="Overflowing bin", description="Every weekend.", latitude=52.08, longitude=4.31)

    phone_page.goto("/open-data/")
    check_accessibility(phone_page, "open-data")

    phone_page.select_option("select[name=theme]", "mobility")
    with phone_page.expect_download() as download_info:
        phone_page.get_by_role("button", name="CSV").click()
    text = open(download_info.value.path(), encoding="utf-8").read()
    assert "Broken bicycle rack" in text and "Overflowing bin" not in text
