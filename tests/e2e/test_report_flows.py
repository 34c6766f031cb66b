"""Residents in a real browser: report with a map click and a photo on a phone, report without JavaScript,
find the report in the list and on the map, support and comment, and the report page in three languages.
Every resident page passes axe-core (WCAG 2.1 A/AA)."""
from __future__ import annotations

import re
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from participation.models import Address, Comment, Report
from smartcity.models import Area, Theme, User
from tests.e2e.conftest import check_accessibility, log_in

pytestmark = pytest.mark.services

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _no_tiles(page) -> None:
    """The test machine has no internet: answer tile requests at once instead of letting them hang."""
    page.route("**/*.png", lambda route: route.fulfill(status=204) if "tile" in route.request.url else route.continue_())


@pytest.fixture
def city(transactional_db):
    theme = Theme.objects.create(slug="safety-liveability", name="Safety and liveability",
                                 name_nl="Veiligheid en leefbaarheid", name_sv="Trygghet och livskvalitet")
    Area.objects.create(
        slug="centrum", name="Centrum",
        geometry={"type": "Polygon", "coordinates": [[[4.25, 52.03], [4.40, 52.03], [4.40, 52.13], [4.25, 52.13], [4.25, 52.03]]]},
        min_longitude=4.25, min_latitude=52.03, max_longitude=4.40, max_latitude=52.13,
    )
    resident = User.objects.create_user(email="rosa@example.org", password=PASSWORD, display_name="Rosa")
    resident.emailaddress_set.create(email="rosa@example.org", verified=True, primary=True)
    return {"theme": theme, "resident": resident}


def jpeg(path) -> str:
    Image.new("RGB", (800, 600), (90, 140, 60)).save(path, format="JPEG")
    return str(path)


def test_a_resident_reports_with_a_map_click_and_a_photo_on_a_phone(phone_page, city, tmp_path):
    page = phone_page
    _no_tiles(page)
    started = time.monotonic()
    page.goto("/")
    page.locator("main a[href='/reports/new/']").first.click()
    page.wait_for_selector(".leaflet-container")
    check_accessibility(page, "report-form-phone")
    page.fill("input[name=title]", "Kapotte lantaarnpaal")
    page.fill("textarea[name=description]", "De lantaarnpaal bij de speeltuin is al een week kapot.")
    page.select_option("select[name=theme]", label="Veiligheid en leefbaarheid")
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 52.0841, "longitude": 4.3175})
    page.get_by_role("button", name="Gebruik mijn locatie").click()
    # Not wait_for_function("..."): Playwright evals that string in the page, which the CSP rightly forbids.
    expect(page.locator("input[name=latitude]")).to_have_value(re.compile(r"^52\.084"))
    picker = page.locator("#report-picker-map")
    box = picker.bounding_box()
    picker.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert page.input_value("input[name=latitude]") != ""
    page.set_input_files("input[name=photos]", jpeg(tmp_path / "lamp.jpg"))
    page.locator("#report-form button[type=submit]").last.click()
    page.wait_for_url("**/reports/*/")
    elapsed = time.monotonic() - started
    report = Report.objects.get()
    assert report.title == "Kapotte lantaarnpaal" and report.photos.count() == 1
    assert 52.0 < report.latitude < 52.14 and 4.18 < report.longitude < 4.42
    assert report.area.slug == "centrum"
    assert page.locator(".site-photos img").count() == 1
    check_accessibility(page, "report-detail-phone")
    assert elapsed < 60


def test_a_resident_reports_without_javascript_through_the_already_reported_step(browser, live_server, city):
    Report.objects.create(title="Lantaarnpaal kapot", description="Al weken donker.", latitude=52.0800, longitude=4.3113)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto("/reports/new/")
    assert page.locator("#report-picker-map").is_hidden()
    page.fill("input[name=title]", "Streetlight broken")
    page.fill("textarea[name=description]", "The streetlight near the playground is broken.")
    page.fill("input[name=address]", "Spui 70")
    page.fill("input[name=latitude]", "52.0799")
    page.fill("input[name=longitude]", "4.3113")
    page.get_by_role("button", name="Send report").click()
    # the answer to the POST comes back on the same URL: wait for it rather than look at once
    expect(page.get_by_role("heading", name="Already reported?")).to_be_visible()
    expect(page.get_by_role("link", name='Support "Lantaarnpaal kapot" instead')).to_be_visible()
    page.get_by_role("button", name="It is not one of these: send my report").click()
    page.wait_for_url("**/reports/*/")
    assert Report.objects.filter(title="Streetlight broken", address="Spui 70").exists()
    context.close()


def test_the_report_form_with_errors_and_the_step_pass_axe(page, city):
    _no_tiles(page)
    Report.objects.create(title="Lantaarnpaal kapot", description="Al weken donker.", latitude=52.0800, longitude=4.3113)
    Address.objects.create(street="Spui", house_number=70, city="Den Haag", latitude=52.0800, longitude=4.3114,
                           source_id="spui-70")
    page.goto("/reports/new/")
    page.locator("#report-form button[type=submit]").last.click()
    expect(page.get_by_text("Mark the place on the map or type an address.").first).to_be_visible()
    check_accessibility(page, "report-form-errors")
    # Keyboard users mark the map's centre with Enter.
    picker = page.locator("#report-picker-map")
    expect(picker).to_be_visible()  # shown by the script that also listens for its keys
    picker.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert 52.0 < float(page.input_value("input[name=latitude]")) < 52.14
    page.fill("input[name=title]", "Streetlight broken")
    page.fill("textarea[name=description]", "The streetlight near the playground is broken.")
    # With JavaScript the coordinates come from the map or the address search (the boxes are for no-JS only).
    page.locator("input[name=address]").press_sequentially("Spui 70", delay=20)
    expect(page.locator("li[role=option]").first).to_have_text("Spui 70, Den Haag")
    page.wait_for_load_state("networkidle")
    page.locator("input[name=address]").press("ArrowDown")
    page.locator("input[name=address]").press("Enter")
    # With JavaScript the "already reported?" hint arrives as an htmx partial before submitting.
    page.wait_for_selector("#nearby a:has-text('Lantaarnpaal kapot')")
    check_accessibility(page, "report-form-nearby")


def test_the_report_is_found_in_the_list_and_on_the_map(page, city):
    _no_tiles(page)
    Report.objects.create(title="Dumped mattress", description="Next to the container.", latitude=52.0799,
                          longitude=4.3113, theme=city["theme"])
    Report.objects.create(title="Graffiti", description="On the bridge.", latitude=52.09, longitude=4.30)
    page.goto("/reports/")
    page.fill("input[name=q]", "mattress")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Dumped mattress")).to_be_visible()
    assert page.get_by_role("link", name="Graffiti").count() == 0
    check_accessibility(page, "report-list")
    page.goto("/reports/map/")
    page.wait_for_selector("#report-map[data-loaded]")
    assert page.locator("#report-map path.leaflet-interactive").count() == 2
    check_accessibility(page, "report-map")
    page.locator("#report-map path.leaflet-interactive").first.click(force=True)
    assert page.locator(".leaflet-popup-content a").count() == 1


def test_residents_support_and_comment(page, city):
    _no_tiles(page)
    report = Report.objects.create(title="Dumped mattress", description="Next to the container.",
                                   latitude=52.0799, longitude=4.3113)
    page.goto(report.get_absolute_url())
    check_accessibility(page, "report-detail-anonymous")
    log_in(page, "rosa@example.org")
    page.goto(report.get_absolute_url())
    page.get_by_role("button", name="I have this problem too").click()
    expect(page.get_by_text("1 person supports this report.")).to_be_visible()
    page.fill("textarea[name=text]", "Still there this morning.")
    page.get_by_role("button", name="Place comment").click()
    expect(page.get_by_text("Still there this morning.")).to_be_visible()
    assert Comment.objects.get().author == city["resident"]
    report.refresh_from_db()
    assert report.support_count == 1
    check_accessibility(page, "report-detail-resident")
    page.goto("/my/reports/")
    expect(page.get_by_role("link", name="Dumped mattress")).to_be_visible()
    check_accessibility(page, "my-reports")
    page.goto("/my/delete/")
    check_accessibility(page, "account-delete")


def test_the_report_page_in_dutch_english_and_swedish(page, city):
    _no_tiles(page)
    report = Report.objects.create(title="Dumped mattress", description="Next to the container.",
                                   latitude=52.0799, longitude=4.3113, theme=city["theme"])
    page.goto(report.get_absolute_url())
    for language, heading, theme in [("nl", "Reacties", "Veiligheid en leefbaarheid"),
                                     ("sv", "Kommentarer", "Trygghet och livskvalitet"),
                                     ("en", "Comments", "Safety and liveability")]:
        page.locator(f"button[name=language][value={language}]").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.get_by_role("link", name=theme)).to_be_visible()
        check_accessibility(page, f"report-detail-{language}")


def test_the_smaller_resident_pages_pass_axe(page, city):
    from participation import tokens

    _no_tiles(page)
    report = Report.objects.create(title="Lantaarnpaal kapot", description="Al weken donker.",
                                   latitude=52.0800, longitude=4.3113)
    # The "already reported?" step as the form shows it without htmx.
    page.route("**/htmx.min.js", lambda route: route.abort())
    Address.objects.create(street="Spui", house_number=70, city="Den Haag", latitude=52.0799, longitude=4.3113,
                           source_id="spui-70")
    page.goto("/reports/new/")
    page.fill("input[name=title]", "Streetlight broken")
    page.fill("textarea[name=description]", "The streetlight near the playground is broken.")
    page.fill("input[name=address]", "Spui 70")  # found on the server when the form is sent
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", name="Already reported?")).to_be_visible()
    check_accessibility(page, "report-form-step")
    # Anonymous support with an address Django refuses.
    page.goto(report.get_absolute_url())
    page.fill("#support input[name=email]", "someone@localhost-without-dot")
    page.locator("#support button[type=submit]").click()
    assert page.locator(".utrecht-form-field--invalid").count() == 1
    check_accessibility(page, "support-form-error")
    # The pages behind the links in emails.
    page.goto(f"/reports/support/confirm/{tokens.confirm_token('support', report.pk, 'bo@example.org')}/")
    check_accessibility(page, "support-confirm")
    page.goto(f"/reports/unsubscribe/{tokens.unsubscribe_token(report_id=report.pk)}/")
    check_accessibility(page, "unsubscribe")
    page.goto("/reports/confirm/not-a-valid-link/")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    check_accessibility(page, "link-invalid")
