"""The client's address: one function for every limit and every log line (issue #14).

`X-Forwarded-For` is written by the client, except for the entries that proxies of our own appended
at its right end. `TRUSTED_PROXY_COUNT` says how many of those stand in front of gunicorn (0: none,
so the header is ignored; 1: the nginx of docker-compose, or the city's load balancer; 2: both).
With N proxies the client is the Nth entry from the right; anything further left is the client's own
writing and never counts. The web limiter, DRF (`NUM_PROXIES`), allauth (`ALLAUTH_TRUSTED_PROXY_COUNT`
and our account adapter) and the logs all come here, so they cannot disagree.
"""
from __future__ import annotations

import contextvars
import ipaddress
import logging
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest

_current = contextvars.ContextVar("client_address", default="-")


def address_from_meta(meta: Mapping[str, str]) -> str:
    """The client's address from a request's META (or a WSGI environ: gunicorn's access log uses it)."""
    remote = meta.get("REMOTE_ADDR") or "unknown"
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if count <= 0 or not forwarded:
        return remote
    entries = forwarded.split(",")
    if len(entries) < count:  # the request did not come through all of our proxies
        return remote
    # What our own proxy wrote; if it is not an address, something is misconfigured: the proxy's own
    # address is the safe answer (one shared limit) rather than a string an attacker may have chosen.
    return _address(entries[-count]) or remote


def _address(entry: str) -> str | None:
    """'203.0.113.9', '203.0.113.9:51234', '2001:db8::1' or '[2001:db8::1]:443' -> the address, else None."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].split("]", 1)[0]
    elif entry.count(":") == 1:
        entry = entry.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The client's IP address, as far as our own proxies vouch for it."""
    return address_from_meta(request.META)


def client_network(request: HttpRequest) -> str:
    """What a per-address limit counts: the address, or for IPv6 its /64, which a single household or
    phone gets whole (otherwise every new address in it would start a fresh count). allauth counts
    IPv6 the same way (ALLAUTH_RATE_LIMIT_IPV6_PREFIX, 64)."""
    address = client_address(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address) + "/64"
    return address


class ClientAddressMiddleware:
    """Remembers the client's address for the log lines written while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        token = _current.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


class ClientAddressFilter(logging.Filter):
    """Gives every log record a `client` attribute: the trusted address of the request being served, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "client"):
            # django.request logs 4xx and 5xx answers after the middleware is done, with the request attached.
            request = getattr(record, "request", None)
            record.client = client_address(request) if isinstance(request, HttpRequest) else _current.get()
        return True
