"""Browsable API docs at /api/v1/docs: the OpenAPI document rendered as a page of our own.

Swagger UI and Redoc fail WCAG 2.1 AA (contrast, nested controls, no page language) and Redoc loads
web fonts from a CDN, so the reference is rendered server-side, in the site's layout, from the same
document that /api/v1/openapi.json serves.
"""
from __future__ import annotations

from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


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
        "path": route,
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
        resource = route.removeprefix("/api/v1/").split("/", 1)[0]
        for method in METHODS:
            if method in item:
                groups.setdefault(resource, []).append(_operation(route, method, item[method], components))
    return document["info"], sorted(groups.items())


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    info, resources = api_reference()
    return render(request, "smartcity/api_docs.html", {"info": info, "resources": resources})
