"""The OpenAPI document (/api/v1/openapi.json) and the browsable API docs at /api/v1/docs.

The document: `ApiSchema` adds what every operation shares and drf-spectacular cannot see in a view, as
the NL GOV API Design Rules' linter (tools/api-design-rules/) and schemathesis' conformance checks expect:
- the `API-Version` header on every answer (smartcity/middleware.py sends it);
- the problem+json error answers the operation can give (400, 401, 403, 404, 409, 415, 429), each with
  the `Problem` schema;
- public reads need no authentication: their security lists `{}` next to the token.
`document_servers` (a postprocessing hook) puts the API's address, SITE_URL + /api/v1, in `servers`.

The docs page: Swagger UI and Redoc fail WCAG 2.1 AA (contrast, nested controls, no page language) and
Redoc loads web fonts from a CDN, so the reference is rendered server-side, in the site's layout, from the
same document that /api/v1/openapi.json serves.
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance, is_serializer
from rest_framework.permissions import SAFE_METHODS

METHODS = ("get", "post", "put", "patch", "delete")
BASE_PATH = "/api/v1"
PROBLEM_JSON = "application/problem+json"

VERSION_HEADER = {
    "API-Version": {
        "description": _("The full version of the API that answered (semantic versioning)."),
        "schema": {"type": "string", "example": settings.API_VERSION},
        "required": True,
    }
}
PROBLEM = {
    "type": "object",
    "description": _("An error (RFC 9457): every invalid field or parameter at once in invalidParams."),
    "properties": {
        "type": {"type": "string", "description": _("A URI naming the kind of problem; about:blank when the status says it all.")},
        "title": {"type": "string", "description": _("A short summary of the kind of problem.")},
        "status": {"type": "integer", "description": _("The HTTP status code.")},
        "detail": {"type": "string", "description": _("What went wrong with this request.")},
        "invalidParams": {
            "type": "array",
            "description": _("The invalid fields of the body and parameters of the query, each once."),
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": _("The field or parameter; nested fields joined by dots.")},
                    "code": {"type": "string", "description": _("A machine-readable reason, e.g. required, invalid, unique.")},
                    "reason": {"type": "string", "description": _("The reason in words.")},
                },
                "required": ["name", "code", "reason"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
ERRORS = {
    "400": _("Invalid input: the body, a parameter or a filter value (invalidParams lists each)."),
    "401": _("The credentials are missing (for this operation) or invalid."),
    "403": _("The account may not do this."),
    "404": _("There is no such resource, or no such page of the list."),
    "409": _("The request conflicts with the resource's current state."),
    "415": _("The body is not JSON."),
    "429": _("Too many requests; Retry-After says when to try again."),
}


class ApiSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the answers and security every operation shares (see the module)."""

    def get_auth(self) -> list[dict]:
        auths = super().get_auth()
        if self.method in SAFE_METHODS and {} not in auths and self._anyone_may_read():
            auths.append({})  # public reads: a token is optional
        return auths

    def _anyone_may_read(self) -> bool:
        anonymous = SimpleNamespace(method="GET", user=AnonymousUser())
        return all(permission.has_permission(anonymous, self.view) for permission in self.view.get_permissions())

    def _get_response_bodies(self, direction="response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            responses.setdefault(code, {"description": ERRORS[code]})
        for code, response in responses.items():
            response.setdefault("headers", {}).update(VERSION_HEADER)
            if code >= "400" and "content" not in response:
                response["content"] = {PROBLEM_JSON: {"schema": self._problem_schema()}}
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        """The errors this operation can answer with, from what the view does."""
        writes = self.method not in SAFE_METHODS
        codes = ["400", "401"]  # any request: a bad parameter or body (a NUL character anywhere), a wrong token
        if writes or {} not in self.get_auth():
            codes.append("403")
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.append("404")  # no such object; a page past the end of a list
        body = force_instance(self.get_request_serializer()) if writes else None
        if is_serializer(body) and "reference" in getattr(body, "fields", {}):
            codes.append("409")  # two requests took one new reference at once (smartcity.api.reference_conflicts)
        if body is not None:
            codes.append("415")
        if writes and self.view.get_throttles():
            codes.append("429")
        return codes

    def _problem_schema(self) -> dict:
        component = ResolvedComponent(name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=PROBLEM)
        self.registry.register_on_missing(component)
        return component.ref


def document_servers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the API's address, read from SITE_URL when the document is made
    (paths are relative to it: SCHEMA_PATH_PREFIX_TRIM)."""
    result["servers"] = [{"url": settings.SITE_URL.rstrip("/") + BASE_PATH, "description": settings.SITE_NAME}]
    return result


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _type(schema: dict, components: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "allOf" in schema:
        return " & ".join(_type(part, components) for part in schema["allOf"])
    if "oneOf" in schema:
        return " | ".join(_type(part, components) for part in schema["oneOf"])
    if schema.get("type") == "array":
        return f"{_type(schema.get('items', {}), components)}[]"
    kind = schema.get("format") or schema.get("type") or "object"
    if "enum" in schema:
        kind += ": " + ", ".join(str(value) for value in schema["enum"] if value not in ("", None))
    return kind


def _fields(reference: str, components: dict) -> list[dict]:
    """The properties of a request body's component: name, type, required, description."""
    schema = components.get(reference.rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        {"name": name, "type": _type(spec, components), "required": name in required,
         "description": spec.get("description", "")}
        for name, spec in schema.get("properties", {}).items() if not spec.get("readOnly")
    ]


def _operation(route: str, method: str, operation: dict, components: dict) -> dict:
    body = operation.get("requestBody", {}).get("content", {})
    body_schema = next(iter(body.values()), {}).get("schema", {}) if body else {}
    return {
        "method": method.upper(),
        "path": BASE_PATH + route,
        "anchor": operation.get("operationId", f"{method}-{route}"),
        "description": operation.get("description", "") or operation.get("summary", ""),
        "parameters": [
            {"name": parameter["name"], "in": parameter["in"], "required": parameter.get("required", False),
             "type": _type(parameter.get("schema", {}), components), "description": parameter.get("description", "")}
            for parameter in operation.get("parameters", [])
        ],
        "fields": _fields(body_schema["$ref"], components) if "$ref" in body_schema else [],
        "responses": [(code, response.get("description", "")) for code, response in operation.get("responses", {}).items()],
    }


def api_reference() -> tuple[dict, list[tuple[str, list[dict]]]]:
    """(info, [(resource, operations)]) grouped by the first path segment."""
    document = openapi_document()
    components = document.get("components", {}).get("schemas", {})
    groups: dict[str, list[dict]] = {}
    for route, item in document["paths"].items():
        resource = route.removeprefix("/").split("/", 1)[0]
        for method in METHODS:
            if method in item:
                groups.setdefault(resource, []).append(_operation(route, method, item[method], components))
    return document["info"], sorted(groups.items())


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    info, resources = api_reference()
    return render(request, "smartcity/api_docs.html", {"info": info, "resources": resources})
