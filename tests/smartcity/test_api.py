"""The hub's API: slugs for themes and departments, references, problem+json errors."""
from smartcity.models import DepartmentChallenge, SocietalChallenge, Theme


def test_a_curator_creates_a_societal_challenge_with_a_reference_and_theme_slugs(token_client_for, innovation_member):
    Theme.objects.create(slug="mobility", name="Mobility")
    client = token_client_for(innovation_member)
    response = client.post("/api/v1/societal-challenges", {
        "reference": "sc-1", "title": "Safe school streets", "description": "Parents park on the bike lane.",
        "themes": ["mobility"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["reference"] == "sc-1"
    assert response.json()["themes"] == ["mobility"]
    assert SocietalChallenge.objects.get(reference="sc-1").created_by == innovation_member


def test_invalid_input_lists_every_problem_at_once_as_problem_json(token_client_for, innovation_member):
    SocietalChallenge.objects.create(title="x", description="y", reference="taken")
    client = token_client_for(innovation_member)
    response = client.post("/api/v1/societal-challenges", {"reference": "taken", "themes": ["nope"]}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400 and body["title"]
    names = {problem["name"] for problem in body["invalidParams"]}
    assert names == {"reference", "title", "description", "themes"}


def test_a_civil_servant_posts_only_for_their_own_department(token_client_for, civil_servant, department_a, department_b):
    client = token_client_for(civil_servant)
    ok = client.post("/api/v1/department-challenges", {
        "title": "Full bins", "description": "Bins overflow on beach days.", "department": department_a.slug}, format="json")
    assert ok.status_code == 201, ok.content
    refused = client.post("/api/v1/department-challenges", {
        "title": "Crowds", "description": "Too few officers.", "department": department_b.slug}, format="json")
    assert refused.status_code == 400
    assert refused.json()["invalidParams"][0]["name"] == "department"
    assert DepartmentChallenge.objects.count() == 1


def test_another_department_cannot_patch_a_challenge(token_client_for, other_civil_servant, department_a):
    challenge = DepartmentChallenge.objects.create(title="Mine", description="d", department=department_a)
    response = token_client_for(other_civil_servant).patch(
        f"/api/v1/department-challenges/{challenge.pk}", {"title": "Yours"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    challenge.refresh_from_db()
    assert challenge.title == "Mine"


def test_residents_and_visitors_read_but_do_not_write(api_client, token_client_for, resident):
    assert api_client.get("/api/v1/societal-challenges").status_code == 200
    assert api_client.post("/api/v1/themes", {"slug": "x", "name": "X"}, format="json").status_code == 401
    assert token_client_for(resident).post("/api/v1/themes", {"slug": "x", "name": "X"}, format="json").status_code == 403
    assert not Theme.objects.exists()


def test_urls_with_a_trailing_slash_do_not_exist(api_client, db):
    assert api_client.get("/api/v1/themes/").status_code == 404


def test_the_openapi_document_is_public(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["servers"][0]["url"].endswith("/api/v1")
    assert "/societal-challenges" in document["paths"]


def test_a_taken_reference_alone_is_a_400_problem_naming_it_and_nothing_is_stored(token_client_for, innovation_member):
    SocietalChallenge.objects.create(title="x", description="y", reference="taken")
    response = token_client_for(innovation_member).post("/api/v1/societal-challenges", {
        "reference": "taken", "title": "Safe school streets", "description": "Parents park on the bike lane."},
        format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["invalidParams"] == [
        {"name": "reference", "code": "unique", "reason": "This reference is already in use."}]
    assert SocietalChallenge.objects.count() == 1


def test_a_challenge_keeps_its_own_reference_when_changed_but_cannot_take_another(token_client_for, innovation_member):
    mine = SocietalChallenge.objects.create(title="Mine", description="d", reference="mine")
    SocietalChallenge.objects.create(title="Other", description="d", reference="other")
    client = token_client_for(innovation_member)
    kept = client.patch(f"/api/v1/societal-challenges/{mine.pk}", {"reference": "mine", "title": "Still mine"},
                        format="json")
    assert kept.status_code == 200, kept.content
    taken = client.patch(f"/api/v1/societal-challenges/{mine.pk}", {"reference": "other"}, format="json")
    assert taken.status_code == 400 and taken.json()["invalidParams"][0]["name"] == "reference"
    mine.refresh_from_db()
    assert (mine.title, mine.reference) == ("Still mine", "mine")


def _every_model_serializer():
    import matching.api  # noqa: F401  (each app's serializers, as the URLs load them)
    import participation.api  # noqa: F401
    import pilots.api  # noqa: F401
    import pilots.call_api  # noqa: F401
    from smartcity.api import CleanTextSerializer

    found, todo = [], [CleanTextSerializer]
    while todo:
        found += (subclasses := todo.pop().__subclasses__())
        todo += subclasses
    return found


def _state(value, parent=None):
    """What a field holds, comparable between two copies (querysets and validators by what they are)."""
    from inspect import isroutine

    from django.db.models import QuerySet
    from django.utils.functional import Promise
    from rest_framework.fields import Field
    from rest_framework.utils.formatting import lazy_format

    if isinstance(value, QuerySet):
        return ("queryset", value.model, str(value.query))
    if isinstance(value, (list, tuple)):
        return [_state(item, parent) for item in value]
    if isinstance(value, dict):
        return {key: _state(item, parent) for key, item in value.items()}
    if isinstance(value, Field):
        return ("field", type(value), {name: _state(item, value) for name, item in vars(value).items()
                                       if name not in ("_creation_counter", "parent")})
    if value is parent or value is None or isinstance(value, (str, int, float, bytes, type)):
        return value
    if isroutine(value):
        return ("routine", value.__qualname__)
    if isinstance(value, (Promise, lazy_format)):  # a text translated or formatted when read
        return ("text", str(value))
    if not hasattr(value, "__dict__"):  # a pattern
        return (type(value), str(value))
    return (type(value), _state(vars(value), parent))


def test_each_serializer_copies_the_built_fields_into_the_state_drfs_deepcopy_gives_them():
    import copy

    from rest_framework.fields import Field

    from smartcity.api import copy_field

    serializers = _every_model_serializer()
    assert len(serializers) >= 10
    for serializer_class in serializers:
        assert serializer_class().fields and serializer_class().get_validators() == []  # built and found once
        for name, built in serializer_class._built_fields.items():
            copied, deep = copy_field(built), copy.deepcopy(built)
            assert type(copied) is type(built) and copied is not built, name
            assert _state(copied) == _state(deep), (serializer_class, name)
            for attribute, value in vars(copied).items():
                if isinstance(value, (dict, list, set)):  # its own, unless DRF's copy shares it too (a class's)
                    shared = value is getattr(built, attribute)
                    assert not shared or getattr(deep, attribute) is value, (serializer_class, name, attribute)
                if isinstance(value, Field):  # a relation's child, bound to its own copy
                    assert value is not getattr(built, attribute) and value.parent is copied


def test_a_copied_fields_mutable_default_is_its_own():
    from rest_framework import serializers

    from smartcity.api import copy_field

    built = serializers.ListField(child=serializers.CharField(), default=list, required=False)
    listed = serializers.JSONField(default={"a": [1]}, required=False)
    copied, other = copy_field(listed), copy_field(listed)
    copied.default["a"].append(2)
    assert other.default == listed.default == {"a": [1]}
    child = copy_field(built).child
    assert child is not built.child and child.parent is not built
