"""A database that drops its connection gets a friendly 503, not a 500 (issue #8).

When a view fails with OperationalError or InterfaceError (the server restarted, a failover, a
connection killed by an administrator), the broken connection is closed so that the next request
opens a fresh one, and the client gets 503 with Retry-After: an HTML page that needs no database,
or application/problem+json under /api/. The error is logged. Everything the view did inside a
transaction was rolled back by that transaction.
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from smartcity.middleware import API_PREFIX
from smartcity.problems import problem

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()  # the next request connects afresh
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if request.path.startswith(API_PREFIX):
            return problem(503, "The database is briefly unavailable. Please try again in a minute.", headers)
        response = HttpResponse(render_to_string("503.html", {"path": "/" + request.path.lstrip("/")}), status=503)
        response["Retry-After"] = headers["Retry-After"]
        return response
