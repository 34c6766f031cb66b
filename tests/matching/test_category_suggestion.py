"""The category suggestion beside the matching engine: it proposes from the city's category names, learns from
staff decisions (a corrected category), and stays quiet on too little text."""
import pytest

from matching import categories
from participation.models import Category, Report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_model():
    categories.forget()
    yield
    categories.forget()


@pytest.fixture
def tree(db):
    lighting = Category.objects.create(slug="lighting", name="Straatverlichting", name_en="Street lighting")
    waste = Category.objects.create(slug="waste", name="Afval", name_en="Waste")
    return {
        "lamp": Category.objects.create(slug="lamp", name="Lamp kapot", name_en="Lamp out", parent=lighting),
        "container": Category.objects.create(slug="container", name="Container vol", name_en="Container full",
                                             parent=waste),
        "seagulls": Category.objects.create(slug="seagulls", name="Meeuwen", name_en="Gulls"),
    }


def test_it_suggests_the_category_whose_name_the_text_shares(tree):
    found = categories.suggest("De lamp in onze straat is al een week kapot")
    assert found is not None and found[0] == tree["lamp"]
    found = categories.suggest("De container op de hoek zit weer helemaal vol")
    assert found is not None and found[0] == tree["container"]


def test_it_says_nothing_on_a_word_or_two(tree):
    assert categories.suggest("lamp kapot") is None


def test_staff_decisions_teach_it(tree):
    text = "Elke ochtend scheuren de vogels de vuilniszakken open en ligt alles over straat"
    for index in range(3):
        Report.objects.create(title=f"Vogels en vuilniszakken {index}", description=text, latitude=52.08,
                              longitude=4.3, category=tree["seagulls"])
    categories.forget()
    found = categories.suggest("De vogels hebben weer alle vuilniszakken opengescheurd")
    assert found is not None and found[0] == tree["seagulls"]


def test_the_form_endpoint_shows_the_suggestion_with_a_button(client, tree):
    response = client.get("/reports/category-suggestion",
                          {"title": "Lamp kapot", "description": "De lamp voor ons huis is kapot sinds gisteren"},
                          HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Street lighting › Lamp out" in html and f'data-choose-category="{tree["lamp"].pk}"' in html
