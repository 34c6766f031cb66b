"""The report form's "where" and "what": a typed address geocoded without JavaScript ("did you mean"), one
message for a missing place, categories with their theme, routing on intake, and "handled elsewhere"."""
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from participation.models import Address, Category, Report, StatusChange
from smartcity.models import Department, Theme

pytestmark = pytest.mark.django_db
URL = reverse("participation:report-create")


@pytest.fixture
def addresses(db):
    for number in range(1, 13):
        Address.objects.create(street="Spui", house_number=number, city="Den Haag", latitude=52.0770 + number * 1e-5,
                               longitude=4.3150, source_id=f"spui-{number}")
    Address.objects.create(street="Keizerstraat", house_number=45, city="Den Haag", latitude=52.1036,
                           longitude=4.2712, source_id="keizer-45")


@pytest.fixture
def tree(db):
    lighting = Theme.objects.create(slug="safety", name="Safety")
    department = Department.objects.create(slug="public-works", name="Public works")
    main = Category.objects.create(slug="lighting", name="Street lighting", theme=lighting, department=department)
    lamp = Category.objects.create(slug="lamp-out", name="Lamp out", parent=main)
    boulevard = Category.objects.create(slug="boulevard", name="Boulevard lights", parent=main,
                                        notice="The grid operator manages these lamps.",
                                        notice_url="https://grid.example.org/report")
    return {"theme": lighting, "department": department, "main": main, "lamp": lamp, "boulevard": boulevard}


def form(**overrides) -> dict:
    data = {"title": "Lamp is out", "description": "The lamp in front of number 3 has been out for a week.",
            "address": "", "latitude": "", "longitude": "", "nearby_seen": "on"}
    data.update(overrides)
    return data


def test_a_typed_address_is_found_on_submit_without_javascript(client, addresses):
    response = client.post(URL, form(address="Keizerstraat 45"))
    report = Report.objects.get()
    assert response.status_code == 302
    assert (report.address, report.latitude, report.longitude) == ("Keizerstraat 45, Den Haag", 52.1036, 4.2712)


def test_several_matches_give_a_did_you_mean_step_that_keeps_everything_typed(client, addresses):
    response = client.post(URL, form(address="Spui"))
    html = response.content.decode()
    assert response.status_code == 200 and not Report.objects.exists()
    assert "Did you mean" in html and "Spui 1, Den Haag" in html and "Spui 2, Den Haag" in html
    assert "The lamp in front of number 3" in html
    choice = response.context["address_choices"][1][0]
    assert client.post(URL, form(address="Spui", address_choice=choice)).status_code == 302
    assert Report.objects.get().address == "Spui 2, Den Haag"


def test_an_exact_house_number_needs_no_step(client, addresses):
    client.post(URL, form(address="Spui 3"))
    assert Report.objects.get().address == "Spui 3, Den Haag"


def test_an_address_that_is_not_found_gets_a_clear_message(client, addresses):
    response = client.post(URL, form(address="Nowhere lane 99"))
    assert "We could not find this address" in response.content.decode() and not Report.objects.exists()


def test_a_missing_place_is_said_once(client):
    html = client.post(URL, form()).content.decode()
    assert html.count("Mark the place on the map or type an address.") == 1
    assert "This field is required" not in html


def test_a_forged_did_you_mean_choice_outside_the_city_is_refused(client):
    response = client.post(URL, form(address_choice="59.33,18.06,Stockholm"))
    assert "lies outside" in response.content.decode() and not Report.objects.exists()


def test_a_map_point_without_an_address_gets_the_nearest_one_as_near(client, addresses):
    client.post(URL, form(latitude="52.10362", longitude="4.27121"))
    report = Report.objects.get()
    assert report.address == "" and report.nearest_address == "Keizerstraat 45, Den Haag"
    assert "near Keizerstraat 45, Den Haag" in client.get(report.get_absolute_url()).content.decode()


def test_the_form_offers_categories_grouped_under_their_main_category_instead_of_themes(client, tree):
    html = client.get(URL).content.decode()
    assert '<optgroup label="Street lighting">' in html and "Lamp out" in html
    assert 'name="theme"' not in html


def test_each_language_gets_its_own_kept_category_choices_on_every_form(client, tree):
    from participation.forms import ReportForm

    for language, unknown in [("en", "I don't know"), ("nl", "Weet ik niet"), ("en", "I don't know"),
                              ("sv", "Vet inte")]:
        with translation.override(language):
            choices = list(ReportForm().fields["category"].choices)
        assert choices[0] == ("", unknown)
        assert choices[1] == ("Street lighting", [(tree["boulevard"].pk, "Boulevard lights"), (tree["lamp"].pk, "Lamp out")])
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<option value="" selected>Vet inte</option>' in html


def test_a_category_with_a_department_routes_the_report_on_intake(client, addresses, tree):
    client.post(URL, form(address="Keizerstraat 45", category=tree["lamp"].pk))
    report = Report.objects.get()
    assert report.category == tree["lamp"] and report.theme == tree["theme"]
    assert report.department == tree["department"] and report.status == Report.Status.NEW
    routed = StatusChange.objects.get(report=report, to_department=tree["department"])
    with translation.override(settings.LANGUAGE_CODE):  # history is written in the city's language
        expected = translation.gettext("Routed automatically by category “%(category)s”.") % {
            "category": "Street lighting › Lamp out"}
    assert routed.message == expected and not routed.is_public


def test_without_a_category_the_report_waits_in_triage(client, addresses, tree):
    client.post(URL, form(address="Keizerstraat 45", category=""))
    report = Report.objects.get()
    assert report.department is None and report.category is None


def test_a_category_handled_elsewhere_says_so_before_the_report_is_sent(client, addresses, tree):
    response = client.post(URL, form(address="Keizerstraat 45", category=tree["boulevard"].pk))
    html = response.content.decode()
    assert response.status_code == 200 and not Report.objects.exists()
    assert "The grid operator manages these lamps." in html and "https://grid.example.org/report" in html
    assert 'name="notice_seen" value="on"' in html
    client.post(URL, form(address="Keizerstraat 45", category=tree["boulevard"].pk, notice_seen="on"))
    report = Report.objects.get()
    # handled elsewhere: no automatic routing, triage decides
    assert report.category == tree["boulevard"] and report.department is None


def test_an_unknown_category_is_refused(client, addresses, tree):
    response = client.post(URL, form(address="Keizerstraat 45", category="999999"))
    assert response.status_code == 200 and not Report.objects.exists()
