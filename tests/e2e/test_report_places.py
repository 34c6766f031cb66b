"""Where and what, in a real browser (issue #16): an address found by typing on a phone, a map click that fills
the nearest address, the no-JavaScript "did you mean" step, a street light handled elsewhere, and a report
routed automatically by its category with its history row on the staff page. axe on every page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from participation.models import Address, Category, Report
from smartcity.models import Department, Membership, Theme, User
from tests.e2e.conftest import check_accessibility, log_in

pytestmark = pytest.mark.services

PASSWORD = "correct horse battery staple"
GEVERS = (52.1090, 4.2790)


def _no_tiles(page) -> None:
    page.route("**/*.png", lambda route: route.fulfill(status=204) if "tile" in route.request.url else route.continue_())


@pytest.fixture
def places(transactional_db):
    for number in range(1, 21):  # about 4 m apart, eastwards
        Address.objects.create(street="Gevers Deynootweg", house_number=number, postcode="2586BP", city="Den Haag",
                               latitude=GEVERS[0], longitude=GEVERS[1] + number * 0.00006,
                               source_id=f"gevers-{number}")
    for number in range(1, 4):
        Address.objects.create(street="Spui", house_number=number, city="Den Haag", latitude=52.0770,
                               longitude=4.3150 + number * 0.0001, source_id=f"spui-{number}")
    safety = Theme.objects.create(slug="safety", name="Veiligheid", name_en="Safety", name_nl="Veiligheid")
    works = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    lighting = Category.objects.create(slug="lighting", name="Straatverlichting", name_nl="Straatverlichting",
                                       name_en="Street lighting", theme=safety, department=works)
    lamp = Category.objects.create(slug="lamp", name="Lamp kapot", name_nl="Lamp kapot", name_en="Lamp out",
                                   parent=lighting)
    boulevard = Category.objects.create(
        slug="boulevard", name="Verlichting boulevard", name_nl="Verlichting boulevard",
        name_en="Lighting on the boulevard", parent=lighting,
        notice_nl="De lantaarnpalen langs de boulevard zijn van de netbeheerder.",
        notice_en="The lamp posts along the boulevard belong to the grid operator.",
        notice="De lantaarnpalen langs de boulevard zijn van de netbeheerder.",
        notice_url="https://grid.example.org/report")
    triager = User.objects.create_user(email="triage@example.org", password=PASSWORD, is_triager=True)
    triager.emailaddress_set.create(email=triager.email, verified=True, primary=True)
    Membership.objects.create(user=triager, department=works)
    return {"lamp": lamp, "boulevard": boulevard, "works": works}


def test_a_phone_report_found_by_typing_gevers_deyn_is_routed_with_its_history_row(phone_page, page, places):
    phone = phone_page
    _no_tiles(phone)
    phone.goto("/reports/new/")
    phone.wait_for_selector(".leaflet-container")
    # With JavaScript the coordinate boxes are gone: the map and the address search replace them.
    expect(phone.locator("input[name=latitude]")).to_be_hidden()
    phone.fill("input[name=title]", "Lamp kapot")
    phone.fill("textarea[name=description]", "De lamp voor de deur brandt al een week niet meer.")
    phone.select_option("select[name=category]", label="Lamp kapot")
    address = phone.locator("input[name=address]")
    address.press_sequentially("Gevers Deyn", delay=30)
    expect(phone.locator("li[role=option]").first).to_be_visible()
    expect(address).to_have_attribute("aria-expanded", "true")
    phone.wait_for_load_state("networkidle")  # the last keystroke's answer is in
    address.press("ArrowDown")
    address.press("ArrowDown")
    expect(address).to_have_attribute("aria-activedescendant", re.compile(r"_1$"))
    check_accessibility(phone, "report-form-address-combobox-phone")
    address.press("Enter")
    expect(address).to_have_value("Gevers Deynootweg 2, Den Haag")
    expect(phone.locator("input[name=latitude]")).to_have_value("52.109000")
    phone.locator("#report-form button[type=submit]").last.click()
    phone.wait_for_url("**/reports/*/")
    report = Report.objects.get()
    assert report.address == "Gevers Deynootweg 2, Den Haag" and report.department == places["works"]
    expect(phone.get_by_text("Gevers Deynootweg 2, Den Haag")).to_be_visible()
    check_accessibility(phone, "report-detail-address-phone")

    _no_tiles(page)
    log_in(page, "triage@example.org")
    page.goto(f"/staff/reports/{report.pk}/")
    # The history is written in the city's language (LANGUAGE_CODE, nl).
    expect(page.get_by_text("Automatisch doorgestuurd op categorie")).to_be_visible()
    expect(page.locator("dd", has_text="Gevers Deynootweg 2, Den Haag")).to_be_visible()
    check_accessibility(page, "staff-report-routed")


def test_a_map_click_fills_the_nearest_address_and_a_street_light_shows_handled_elsewhere(page, places):
    _no_tiles(page)
    page.goto("/reports/new/")
    page.wait_for_selector(".leaflet-container")
    page.select_option("select[name=category]", label="Lighting on the boulevard")
    notice = page.get_by_text("The lamp posts along the boulevard belong to the grid operator.")
    expect(notice).to_be_visible()
    check_accessibility(page, "report-form-handled-elsewhere")
    address = page.locator("input[name=address]")
    address.press_sequentially("gevers deynootweg 1", delay=20)
    expect(page.locator("li[role=option]").first).to_have_text("Gevers Deynootweg 1, Den Haag")
    page.wait_for_load_state("networkidle")
    address.press("ArrowDown")
    address.press("Enter")  # the map centres on number 1 at street level
    expect(address).to_have_value("Gevers Deynootweg 1, Den Haag")
    address.fill("")
    picker = page.locator("#report-picker-map")
    box = picker.bounding_box()
    # Zoom 17: a few dozen pixels east of number 1 lie the higher numbers.
    picker.click(position={"x": box["width"] / 2 + 40, "y": box["height"] / 2})
    expect(address).to_have_value(re.compile(r"^Gevers Deynootweg (\d+), Den Haag$"))
    number = int(re.search(r"(\d+),", address.input_value()).group(1))
    assert number > 1
    page.fill("input[name=title]", "Lamp op de boulevard")
    page.fill("textarea[name=description]", "De lamp bij de trap naar het strand is kapot.")
    page.locator("#report-form button[type=submit]").last.click()
    page.wait_for_url("**/reports/*/")
    report = Report.objects.get()
    # seen before sending, and handled elsewhere: not routed by the category, triage decides
    assert report.category == places["boulevard"] and report.department is None


def test_without_javascript_a_typed_address_gets_a_did_you_mean_step(browser, live_server, page, places):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="en-GB")
    no_js = context.new_page()
    no_js.set_default_timeout(15_000)
    no_js.goto("/reports/new/")
    expect(no_js.locator("input[name=latitude]")).to_be_visible()
    no_js.fill("input[name=title]", "Loose paving")
    no_js.fill("textarea[name=description]", "Paving stones are loose in front of the shop.")
    no_js.fill("input[name=address]", "Spui")
    no_js.get_by_role("button", name="Send report").click()
    expect(no_js.get_by_text("Did you mean")).to_be_visible()
    expect(no_js.locator("textarea[name=description]")).to_have_value("Paving stones are loose in front of the shop.")
    no_js.screenshot(path="artifacts/screenshots/report-form-did-you-mean-no-js.png", full_page=True)
    no_js.get_by_label("Spui 2, Den Haag").check()
    no_js.get_by_role("button", name="Send report").click()
    no_js.wait_for_url("**/reports/*/")
    assert Report.objects.get().address == "Spui 2, Den Haag"
    context.close()
    # The same step where axe can run (it needs JavaScript): a typed address sent without choosing a suggestion.
    _no_tiles(page)
    page.goto("/reports/new/")
    page.fill("input[name=title]", "Loose paving again")
    page.fill("textarea[name=description]", "More paving stones are loose in front of the shop.")
    page.fill("input[name=address]", "Spui")
    page.locator("input[name=address]").press("Escape")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Did you mean")).to_be_visible()
    check_accessibility(page, "report-form-did-you-mean")
