"""The portfolio pages: who sees and does what, the gate and stop forms, KPIs and the CSV import."""
import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from participation.models import Report
from pilots.models import KPI, Gate, MeasurementRow, Pilot, Stage
from smartcity.models import Area, DepartmentChallenge, SocietalChallenge

pytestmark = pytest.mark.django_db


def _csv(text: str, name: str = "sensor.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


# --- Public pages ---------------------------------------------------------------------------------
def test_the_public_pilot_page_tells_what_where_why_and_results_without_internals(client, pilot):
    challenge = SocietalChallenge.objects.create(title="Crowds on the boulevard", description="d")
    pilot.societal_challenges.add(challenge)
    pilot.location, pilot.results_summary = "Boulevard", "Fewer noise complaints."
    pilot.budget, pilot.internal_notes = 99000, "Partner asks for exclusivity."
    pilot.save()
    kpi = KPI.objects.create(pilot=pilot, name="Noise complaints", unit="per week", baseline=40, target=25,
                             direction=KPI.Direction.LOWER)
    start = timezone.make_aware(dt.datetime(2026, 5, 1, 9))
    kpi.upsert_measurements([MeasurementRow(start + dt.timedelta(weeks=w), 40 - w) for w in range(4)])
    html = client.get(pilot.get_absolute_url()).content.decode()
    for text in ("What is tried", "Where", "Boulevard", "Why", "Crowds on the boulevard", "Results so far",
                 "Fewer noise complaints.", 'role="img"', "<title id=\"kpi-", "<table"):
        assert text in html, text
    assert "99" not in html.split("Facts")[1].split("Decisions")[0]
    assert "exclusivity" not in html


def test_the_pilot_page_shows_internals_to_its_own_department(client, civil_servant, pilot):
    pilot.internal_notes = "Partner asks for exclusivity."
    pilot.save()
    client.force_login(civil_servant)
    assert "exclusivity" in client.get(pilot.get_absolute_url()).content.decode()


def test_the_public_portfolio_shows_the_funnel_and_stranded_pilots(client, db):
    Pilot.objects.create(title="Old idea", description="d", stage_changed_at=timezone.now() - dt.timedelta(days=400))
    Pilot.objects.create(title="New idea", description="d")
    html = client.get(reverse("pilots:pilot-list")).content.decode()
    assert "Pilots per stage" in html and "1 pilot has stalled" in html
    assert "No decision or measurement for 6 months" in html


def test_the_dashboard_is_for_the_innovation_team(client, civil_servant, innovation_member, pilot):
    url = reverse("pilots:portfolio-dashboard")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(civil_servant)
    assert client.get(url).status_code == 403
    client.force_login(innovation_member)
    response = client.get(url)
    assert response.status_code == 200 and pilot.title in response.content.decode()


def test_scaling_opportunities_are_other_departments_challenges_and_report_clusters(client, innovation_member, pilot, department_a, department_b):
    challenge = SocietalChallenge.objects.create(title="Crowds", description="d")
    pilot.societal_challenges.add(challenge)
    own = DepartmentChallenge.objects.create(title="Our own crowd problem", description="d", department=department_a)
    other = DepartmentChallenge.objects.create(title="Noise complaints two streets away", description="d",
                                               department=department_b)
    closed = DepartmentChallenge.objects.create(title="Solved long ago", description="d", department=department_b,
                                                status=DepartmentChallenge.Status.CLOSED)
    for item in (own, other, closed):
        item.societal_challenges.add(challenge)
    area = Area.objects.create(slug="duinoord", name="Duinoord", geometry={}, min_longitude=4, min_latitude=52,
                               max_longitude=5, max_latitude=53)
    for number in range(3):
        report = Report.objects.create(title=f"Noise {number}", description="d", latitude=52.1, longitude=4.3, area=area)
        report.societal_challenges.add(challenge)
    client.force_login(innovation_member)
    html = client.get(reverse("pilots:portfolio-dashboard")).content.decode()
    opportunities = html.split("Scaling opportunities")[1]
    assert "Noise complaints two streets away" in opportunities
    assert "Our own crowd problem" not in opportunities and "Solved long ago" not in opportunities
    assert "3 open reports from residents in Duinoord" in opportunities


# --- Creating pilots and passing gates -----------------------------------------------------------
def test_the_innovation_team_enters_a_pilot_already_under_way(client, innovation_member, department_a):
    client.force_login(innovation_member)
    response = client.post(reverse("pilots:pilot-create"), {
        "title": "Smart bins", "description": "Bins that report when full.", "stage": "pilot",
        "lead_department": department_a.pk, "start_date": "2026-01-01", "end_date": "2026-12-31"})
    pilot = Pilot.objects.get(title="Smart bins")
    assert response.status_code == 302 and response["Location"] == pilot.get_absolute_url()
    assert pilot.stage == "pilot" and pilot.created_by == innovation_member
    assert list(pilot.gates.values_list("kind", "to_stage")) == [(Gate.Kind.IMPORT, "pilot")]


def test_the_pilot_form_rejects_an_end_before_the_start(client, innovation_member):
    client.force_login(innovation_member)
    response = client.post(reverse("pilots:pilot-create"), {
        "title": "x", "description": "y", "stage": "idea", "start_date": "2026-05-01", "end_date": "2026-04-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert not Pilot.objects.exists()


def test_a_civil_servant_cannot_create_edit_or_gate_a_pilot(client, civil_servant, pilot):
    client.force_login(civil_servant)
    for url in (reverse("pilots:pilot-create"), reverse("pilots:pilot-edit", args=[pilot.pk]),
                reverse("pilots:gate-create", args=[pilot.pk]), reverse("pilots:pilot-stop", args=[pilot.pk])):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"decision": "go", "lessons_learned": "x"}).status_code == 403, url
    assert Pilot.objects.get(pk=pilot.pk).stage == "idea"


def test_the_gate_form_marks_each_missing_required_answer(client, innovation_member, pilot):
    client.force_login(innovation_member)
    url = reverse("pilots:gate-create", args=[pilot.pk])
    response = client.post(url, {"decision": "go", "decided_on": "2026-05-01", "answer_value": "Two challenges."})
    assert response.status_code == 200
    html = response.content.decode()
    # once at the field, once in the error summary, as a link to that field
    assert html.count("This answer is required before the pilot can move on.") == 2
    assert 'href="#id_answer_success-criteria"' in html
    assert Pilot.objects.get(pk=pilot.pk).stage == "idea" and not pilot.gates.exists()


def test_the_gate_form_records_a_go_and_moves_the_pilot(client, innovation_member, pilot, all_answers):
    client.force_login(innovation_member)
    data = {f"answer_{key}": value for key, value in all_answers.items()}
    response = client.post(reverse("pilots:gate-create", args=[pilot.pk]),
                           data | {"decision": "go", "decided_on": "2026-05-01", "notes": "Unanimous."})
    assert response.status_code == 302
    gate = pilot.gates.get()
    assert (gate.to_stage, gate.decided_on, gate.decided_by, gate.notes) == (
        "proof_of_concept", dt.date(2026, 5, 1), innovation_member, "Unanimous.")
    assert Pilot.objects.get(pk=pilot.pk).stage == "proof_of_concept"


def test_the_stop_form_requires_lessons_learned(client, innovation_member, pilot):
    client.force_login(innovation_member)
    url = reverse("pilots:pilot-stop", args=[pilot.pk])
    response = client.post(url, {"lessons_learned": "  ", "decided_on": "2026-05-01"})
    assert response.status_code == 200 and Pilot.objects.get(pk=pilot.pk).stage == "idea"
    assert client.post(url, {"lessons_learned": "Nobody owned it.", "decided_on": "2026-05-01"}).status_code == 302
    pilot.refresh_from_db()
    assert pilot.stage == Stage.STOPPED and pilot.lessons_learned == "Nobody owned it."


# --- KPIs and measurements in the UI -------------------------------------------------------------
def test_only_the_pilots_departments_and_administrators_edit_its_kpis(client, civil_servant, other_civil_servant, innovation_member, admin_user, pilot):
    kpi = KPI.objects.create(pilot=pilot, name="Complaints")
    urls = [reverse("pilots:kpi-create", args=[pilot.pk]), reverse("pilots:kpi-edit", args=[kpi.pk]),
            reverse("pilots:measurement-create", args=[kpi.pk]), reverse("pilots:measurement-import", args=[kpi.pk])]
    for user, expected in ((other_civil_servant, 403), (innovation_member, 403), (civil_servant, 200), (admin_user, 200)):
        client.force_login(user)
        assert [client.get(url).status_code for url in urls] == [expected] * 4, user


def test_a_department_adds_a_kpi_and_a_measurement_by_hand(client, civil_servant, pilot):
    client.force_login(civil_servant)
    response = client.post(reverse("pilots:kpi-create", args=[pilot.pk]), {
        "name": "Complaints", "unit": "per week", "baseline": "40", "target": "25", "direction": "lower"})
    kpi = pilot.kpis.get()
    assert response.status_code == 302 and kpi.direction == "lower"
    url = reverse("pilots:measurement-create", args=[kpi.pk])
    assert client.post(url, {"measured_at": "2026-05-01T09:00", "value": "38", "source": "count"}).status_code == 302
    assert client.post(url, {"measured_at": "2026-05-01T09:00", "value": "37", "source": "recount"}).status_code == 302
    assert list(kpi.measurements.values_list("value", "source")) == [(37.0, "recount")]


def test_the_csv_import_keeps_good_rows_and_reports_bad_ones_with_line_numbers(client, civil_servant, pilot):
    kpi = KPI.objects.create(pilot=pilot, name="Visitors")
    client.force_login(civil_servant)
    text = (
        "measured_at,value,source\n"
        "2026-05-01T09:00:00+02:00,120,gate-north\n"
        "2026-05-02T09:00,not a number,gate-north\n"
        "\n"
        "someday,130,gate-north\n"
        "2026-05-04,140\n"
        "2026-05-05T09:00:00Z\n"
    )
    response = client.post(reverse("pilots:measurement-import", args=[kpi.pk]), {"file": _csv(text)})
    assert response.status_code == 200
    assert response.context["result"]["bad_rows"] == [
        (3, "“not a number” is not a number."),
        (5, "“someday” is not a date and time (use 2026-05-01T14:30)."),
        (7, "Too few columns."),
    ]
    html = response.content.decode()
    assert "2 measurements added, 0 updated." in html and "<td class=\"utrecht-table__cell pilot-number\">5</td>" in html
    assert list(kpi.measurements.values_list("value", "source")) == [(120.0, "gate-north"), (140.0, "csv:sensor.csv")]
    assert kpi.measurements.last().measured_at == timezone.make_aware(dt.datetime(2026, 5, 4))


def test_importing_the_same_csv_twice_changes_nothing(client, civil_servant, pilot):
    kpi = KPI.objects.create(pilot=pilot, name="Visitors")
    client.force_login(civil_servant)
    url = reverse("pilots:measurement-import", args=[kpi.pk])
    text = "measured_at;value\n2026-05-01 09:00;1.234,5\n2026-05-02 09:00;7,25\n"  # Dutch Excel: semicolons, decimal comma
    assert client.post(url, {"file": _csv(text)}).status_code == 302
    assert client.post(url, {"file": _csv(text)}).status_code == 302
    assert list(kpi.measurements.values_list("value", flat=True)) == [1234.5, 7.25]


def test_a_csv_without_the_needed_columns_is_refused_as_a_whole(client, civil_servant, pilot):
    kpi = KPI.objects.create(pilot=pilot, name="Visitors")
    client.force_login(civil_servant)
    response = client.post(reverse("pilots:measurement-import", args=[kpi.pk]),
                           {"file": _csv("when,how much\n2026-05-01,3\n")})
    assert response.status_code == 200
    assert "The first line must name the columns" in response.content.decode()
    assert not kpi.measurements.exists()


def test_a_report_page_partial_lists_the_pilots_serving_its_challenges(pilot):
    from django.template.loader import render_to_string

    challenge = SocietalChallenge.objects.create(title="Crowds", description="d")
    pilot.societal_challenges.add(challenge)
    html = render_to_string("pilots/_pilots_for_challenges.html", {"challenges": [challenge]})
    assert pilot.title in html and pilot.get_absolute_url() in html
    assert render_to_string("pilots/_pilots_for_challenges.html", {"challenges": []}).strip() == ""


def test_a_revise_may_leave_required_answers_open(client, innovation_member, pilot):
    client.force_login(innovation_member)
    response = client.post(reverse("pilots:gate-create", args=[pilot.pk]),
                           {"decision": "revise", "decided_on": "2026-05-01", "answer_value": "One challenge so far."})
    assert response.status_code == 302
    gate = pilot.gates.get()
    assert gate.decision == "revise" and [a.criterion.key for a in gate.answers.all()] == ["value"]
    assert Pilot.objects.get(pk=pilot.pk).stage == "idea"


def test_the_gate_form_marks_only_the_answers_this_gate_needs_as_required(client, innovation_member, pilot):
    client.force_login(innovation_member)
    form = client.get(reverse("pilots:gate-create", args=[pilot.pk])).context["form"]
    required = {name for name, field in form.fields.items() if name.startswith("answer_") and field.required}
    assert required == {"answer_value", "answer_success-criteria"}
