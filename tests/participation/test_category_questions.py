"""A category's questions (Open311 service attributes on a category): asked on the report form for the chosen
category (its own and its main category's), checked, kept with the report and shown to staff; a theme's questions
stay Open311's."""
import pytest
from django.urls import reverse

from participation.models import Category, Report, ServiceQuestion
from smartcity.models import Theme

pytestmark = pytest.mark.django_db
URL = reverse("participation:report-create")


@pytest.fixture
def tree(db):
    theme = Theme.objects.create(slug="safety", name="Safety")
    main = Category.objects.create(slug="lighting", name="Street lighting", theme=theme)
    lamp = Category.objects.create(slug="lamp-out", name="Lamp out", parent=main)
    bench = Category.objects.create(slug="bench", name="Broken bench")
    ServiceQuestion.objects.create(category=main, code="pole", description="What number is on the pole?", order=1)
    ServiceQuestion.objects.create(
        category=lamp, code="state", description="Is the lamp out or flickering?", required=True,
        datatype=ServiceQuestion.Datatype.SINGLEVALUELIST,
        values=[{"key": "out", "name": "Out"}, {"key": "flickering", "name": "Flickering"}])
    ServiceQuestion.objects.create(theme=theme, code="theme-only", description="A theme's question for Open311")
    return {"theme": theme, "main": main, "lamp": lamp, "bench": bench}


def form(**overrides) -> dict:
    data = {"title": "Lamp is out", "description": "The lamp in front of number 3 has been out for a week.",
            "latitude": "52.0799", "longitude": "4.3113", "nearby_seen": "on"}
    data.update(overrides)
    return data


def field(code: str) -> str:
    return f"question_{ServiceQuestion.objects.get(code=code).pk}"


def test_the_form_shows_each_categorys_questions_marked_with_the_categories_they_belong_to(client, tree):
    html = client.get(URL).content.decode()
    # without JavaScript every group is there, saying which category it is for; the script shows the chosen one's
    assert "Questions about “Street lighting”" in html and "What number is on the pole?" in html
    assert "Is the lamp out or flickering?" in html and "Flickering" in html
    assert f'data-category-questions="{tree["lamp"].pk}"' in html
    assert "A theme's question for Open311" not in html
    assert "Broken bench" in html and "Questions about “Broken bench”" not in html


def test_answers_to_the_chosen_categorys_and_its_main_categorys_questions_are_kept(client, tree):
    response = client.post(URL, form(category=tree["lamp"].pk, **{field("pole"): " 12-345 ", field("state"): "flickering"}))
    assert response.status_code == 302
    assert Report.objects.get().answers == {"pole": "12-345", "state": "flickering"}


def test_a_category_without_questions_ignores_answers_given_for_another(client, tree):
    response = client.post(URL, form(category=tree["bench"].pk, **{field("pole"): "12"}))
    assert response.status_code == 302 and Report.objects.get().answers == {}


def test_a_required_answer_missing_is_a_form_error_and_nothing_is_saved(client, tree):
    response = client.post(URL, form(category=tree["lamp"].pk, **{field("pole"): "12"}))
    assert response.status_code == 200 and not Report.objects.exists()
    assert response.context["form"].errors[field("state")] == [
        "Please answer this question for the category “Lamp out”."]
    assert 'value="12"' in response.content.decode()  # what was typed is kept


def test_a_choice_that_is_not_offered_is_refused(client, tree):
    response = client.post(URL, form(category=tree["lamp"].pk, **{field("state"): "exploded"}))
    assert response.status_code == 200 and not Report.objects.exists()
    assert field("state") in response.context["form"].errors


def test_the_main_categorys_optional_question_may_stay_empty(client, tree):
    client.post(URL, form(category=tree["main"].pk))  # not choosable: it has subcategories
    assert not Report.objects.exists()
    assert client.post(URL, form(category=tree["lamp"].pk, **{field("state"): "out"})).status_code == 302
    assert Report.objects.get().answers == {"state": "out"}


def test_staff_see_the_answers_by_question_with_the_choices_name(client, tree, civil_servant):
    client.post(URL, form(category=tree["lamp"].pk, **{field("pole"): "12-345", field("state"): "flickering"}))
    report = Report.objects.get()
    client.force_login(civil_servant)
    html = client.get(reverse("participation:staff-report-detail", args=[report.pk])).content.decode()
    assert "<dt>What number is on the pole?</dt><dd>12-345</dd>" in html
    assert "<dt>Is the lamp out or flickering?</dt><dd>Flickering</dd>" in html


def test_staff_see_an_open311_clients_answers_once_and_its_other_attributes_after_them(client, tree, civil_servant):
    from participation.models import Open311Client
    from participation.open311 import open311_request_create

    record = open311_request_create(
        client=Open311Client.objects.create(name="FixMyStreet"), service=tree["lamp"],
        data={"description": "Lamp out", "latitude": 52.0799, "longitude": 4.3113,
              "answers": {"pole": "12-345", "state": "out"},
              "attributes": {"pole": "12-345", "state": "out", "uprn": "999"}})
    client.force_login(civil_servant)
    html = client.get(reverse("participation:staff-report-detail", args=[record.report_id])).content.decode()
    assert html.count("12-345") == 1 and "<dt>What number is on the pole?</dt><dd>12-345</dd>" in html
    assert html.count("<dd>Out</dd>") == 1 and "<dd>out</dd>" not in html
    assert html.index("<dd>Out</dd>") < html.index("<dt>uprn</dt><dd>999</dd>")


def test_answers_are_not_public(client, tree):
    client.post(URL, form(category=tree["lamp"].pk, **{field("pole"): "12-345", field("state"): "flickering"}))
    assert "12-345" not in client.get(Report.objects.get().get_absolute_url()).content.decode()


def test_a_question_belongs_to_a_theme_or_a_category_not_both_nor_neither(tree):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    both = ServiceQuestion(theme=tree["theme"], category=tree["bench"], code="x", description="x")
    with pytest.raises(ValidationError):
        both.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceQuestion.objects.create(code="y", description="y")


def test_the_admin_manages_a_categorys_questions_on_the_category(client, tree, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:participation_category_change", args=[tree["bench"].pk])
    html = client.get(url).content.decode()
    assert "questions-TOTAL_FORMS" in html
    data = {"slug": "bench", "name": "Broken bench", "order": 0, "is_active": "on",
            "questions-TOTAL_FORMS": 1, "questions-INITIAL_FORMS": 0,
            "questions-0-code": "seat", "questions-0-description": "Which seat?", "questions-0-datatype": "string",
            "questions-0-order": 0, "questions-0-values": "[]"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert tree["bench"].questions.get().description == "Which seat?"


@pytest.mark.parametrize("language, question", [("nl", "Welk nummer staat op de lantaarnpaal?"),
                                                ("en", "What number is on the lamp post?"),
                                                ("sv", "Vilket nummer står på lyktstolpen?")])
def test_the_demo_asks_a_broken_lamps_post_number_in_the_residents_language(client, language, question):
    from django.core.management import call_command

    call_command("load_demo_categories", verbosity=0)
    call_command("load_demo_categories", verbosity=0)  # safe to run again
    assert ServiceQuestion.objects.get(category__slug="verlichting-lamp").code == "paalnummer"
    html = client.get(URL, headers={"accept-language": language}).content.decode()
    assert question in html and "123-45" in html
