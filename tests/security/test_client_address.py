"""One client address for every limit and log line (issue #14, finding 1).

`X-Forwarded-For` is whatever the client wrote, except for the entries our own proxies appended.
`TRUSTED_PROXY_COUNT` says how many proxies of ours stand in front of gunicorn (default 0: none, so
the header is ignored and `REMOTE_ADDR` counts). The web limiter, DRF, allauth, Open311 and the logs
all ask `smartcity.clientip.client_address`.
"""
from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.test import RequestFactory

from participation.models import Report
from smartcity.clientip import client_address
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


def _request(remote: str = "198.51.100.7", forwarded: str | None = None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(("count", "remote", "forwarded", "expected"), [
    # No proxy of ours: whatever the client wrote is ignored.
    (0, "198.51.100.7", "203.0.113.9", "198.51.100.7"),
    (0, "198.51.100.7", None, "198.51.100.7"),
    # One proxy: the address it appended, the last one; what the client put before it is ignored.
    (1, PROXY, "203.0.113.9", "203.0.113.9"),
    (1, PROXY, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
    (1, PROXY, "203.0.113.9:51234", "203.0.113.9"),
    (1, PROXY, "[2001:db8::1]:443", "2001:db8::1"),
    # Two proxies (a load balancer, then nginx): the second entry from the right.
    (2, PROXY, "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
    # Fewer entries than proxies (the request did not come through all of them): REMOTE_ADDR.
    (2, PROXY, "203.0.113.9", PROXY),
    (1, PROXY, None, PROXY),
    # Garbage where our proxy's entry should be: never a key an attacker chooses.
    (1, PROXY, "203.0.113.9, not-an-address", PROXY),
])
def test_the_client_address_takes_the_entry_our_own_proxies_appended(settings, count, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_address(_request(remote, forwarded)) == expected


@pytest.mark.parametrize("count", [0, 1, 2])
def test_drf_and_allauth_see_the_same_client_as_the_rest_of_the_site(settings, count):
    from allauth.account.adapter import get_adapter
    from rest_framework.settings import api_settings
    from rest_framework.throttling import BaseThrottle

    from participation.api import ReportThrottle

    settings.TRUSTED_PROXY_COUNT = count
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api_settings, "NUM_PROXIES", count)  # what settings.py derives from TRUSTED_PROXY_COUNT
        for forwarded in ["6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9, 10.0.0.1", "203.0.113.9"]:
            request = _request(PROXY, forwarded)
            if len(forwarded.split(",")) >= count:  # with fewer entries stock DRF takes the leftmost one
                assert BaseThrottle().get_ident(request) == client_address(request)
            assert ReportThrottle().get_ident(request) == client_address(request)
            assert get_adapter(request).get_client_ip(request) == client_address(request)


def test_the_settings_hand_the_one_count_to_drf_and_allauth():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TRUSTED_PROXY_COUNT


def test_x_forwarded_proto_is_trusted_only_behind_a_proxy_of_ours():
    """The same rule for the scheme: a client that reaches gunicorn directly must not claim https."""
    import os
    import subprocess
    import sys

    def secure_header(**env) -> str:
        environment = {key: value for key, value in os.environ.items() if key not in ("BEHIND_PROXY", "TRUSTED_PROXY_COUNT")}
        return subprocess.run(
            [sys.executable, "-c", "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"],
            env={**environment, "DJANGO_SETTINGS_MODULE": "smartcity.settings", "DEBUG": "0", "SECRET_KEY": "x", **env},
            capture_output=True, text=True, check=True,
        ).stdout.strip()

    assert secure_header() == "None"
    assert secure_header(TRUSTED_PROXY_COUNT="1") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_the_old_behind_proxy_switch_gets_a_deployment_warning(settings):
    from smartcity.checks import behind_proxy_is_deprecated

    settings.BEHIND_PROXY, settings.TRUSTED_PROXY_COUNT = True, 0
    assert [message.id for message in behind_proxy_is_deprecated(None)] == ["smartcity.W001"]
    settings.TRUSTED_PROXY_COUNT = 1
    assert behind_proxy_is_deprecated(None) == []


# --- Rotating X-Forwarded-For gets nothing ----------------------------------------------------------

def _report_form(number: int) -> dict:
    return {"title": f"Overvolle afvalbak {number}", "description": "De afvalbak bij de tramhalte is al dagen vol.",
            "latitude": str(52.05 + number * 0.005), "longitude": "4.3113", "theme": "", "nearby_seen": "on"}


def test_rotating_x_forwarded_for_does_not_escape_the_web_report_limit(client, settings):
    settings.ANONYMOUS_REPORTS_PER_HOUR = 3
    codes = [client.post("/reports/new/", _report_form(number), HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code
             for number in range(8)]
    assert codes[:3] == [302] * 3 and set(codes[3:]) == {429}
    assert Report.objects.count() == 3


def test_rotating_x_forwarded_for_does_not_escape_the_api_throttle(api_client, settings):
    settings.REPORT_API_RATES = {**settings.REPORT_API_RATES, "anonymous": "3/hour"}
    codes = [api_client.post("/api/v1/reports", {"title": "Overvolle afvalbak", "description": "Al dagen vol, echt waar.",
                                                 "latitude": 52.08, "longitude": 4.31}, format="json",
                             HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code
             for number in range(6)]
    assert codes == [201] * 3 + [429] * 3
    assert Report.objects.count() == 3


def test_rotating_x_forwarded_for_does_not_send_more_support_mails(client, settings, django_capture_on_commit_callbacks):
    settings.ANONYMOUS_SUPPORTS_PER_HOUR = 4
    report = make_report()
    with django_capture_on_commit_callbacks(execute=True):
        codes = [client.post(f"/reports/{report.pk}/support/", {"email": f"victim{number}@example.org"},
                             HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code for number in range(10)]
    assert codes.count(302) == 4 and codes.count(429) == 6
    assert len(mail.outbox) == 4


def test_behind_our_proxy_two_clients_have_two_budgets_and_a_forged_entry_changes_nothing(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ANONYMOUS_REPORTS_PER_HOUR = 2

    def post(number: int, forwarded: str) -> int:
        return client.post("/reports/new/", _report_form(number), REMOTE_ADDR=PROXY,
                           HTTP_X_FORWARDED_FOR=forwarded).status_code

    # The attacker writes a new first entry every time; nginx appends the real address after it.
    attacker = [post(number, f"6.6.6.{number}, 203.0.113.9") for number in range(4)]
    neighbour = [post(10 + number, "198.51.100.7") for number in range(2)]
    assert attacker == [302, 302, 429, 429]
    assert neighbour == [302, 302]


def test_rotating_x_forwarded_for_does_not_escape_the_open311_limit_of_a_key(client, settings, theme):
    from participation.models import Open311Client

    settings.OPEN311_REQUESTS_PER_HOUR = 2
    integration = Open311Client.objects.create(name="FixMyStreet", key="k" * 40)
    other = Open311Client.objects.create(name="Other app", key="o" * 40)

    def post(key: str, number: int) -> int:
        return client.post("/open311/v2/requests.json", {
            "api_key": key, "service_code": theme.slug, "lat": "52.0799", "long": "4.3113",
            "description": f"Losliggende stoeptegels nummer {number} bij de tramhalte.",
        }, HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code

    assert [post(integration.key, number) for number in range(4)] == [201, 201, 429, 429]
    assert [post(other.key, number) for number in range(2)] == [201, 201]  # a limit per key, not per address


# --- Logs ------------------------------------------------------------------------------------------

def test_log_lines_written_during_a_request_name_the_trusted_client(client, settings):
    from smartcity.clientip import ClientAddressFilter

    settings.TRUSTED_PROXY_COUNT = 1
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(ClientAddressFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/api/v1/no-such-thing", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    finally:
        logger.removeHandler(handler)
    assert records and {record.client for record in records} == {"203.0.113.9"}

    # And a line our own code writes while the request runs.
    from smartcity.clientip import ClientAddressMiddleware

    def view(request):
        logging.getLogger("smartcity").warning("something to look into")
        return None

    records.clear()
    logger = logging.getLogger("smartcity")
    logger.addHandler(handler)
    try:
        ClientAddressMiddleware(view)(_request(PROXY, "203.0.113.10"))
    finally:
        logger.removeHandler(handler)
    assert [record.client for record in records] == ["203.0.113.10"]
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "outside a request", None, None)
    assert ClientAddressFilter().filter(outside) and outside.client == "-"


def test_the_settings_put_the_client_in_every_log_line():
    from django.conf import settings

    console = settings.LOGGING["handlers"]["console"]
    assert "%(client)s" in settings.LOGGING["formatters"][console["formatter"]]["format"]
    assert any(settings.LOGGING["filters"][name]["()"] == "smartcity.clientip.ClientAddressFilter"
               for name in console["filters"])


def test_gunicorns_access_log_names_the_trusted_client(settings):
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from smartcity.access_log import TrustedClientLogger

    settings.TRUSTED_PROXY_COUNT = 1
    logger = TrustedClientLogger(Config())
    environ = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9", "REQUEST_METHOD": "GET",
               "RAW_URI": "/", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1"}
    response = SimpleNamespace(status="200 OK", response_length=2, headers=[], sent=2)
    request = SimpleNamespace(headers=[], method="GET", path="/", query="", uri="/", version=(1, 1))
    atoms = logger.atoms(response, request, environ, timedelta(seconds=0.01))
    assert atoms["h"] == "203.0.113.9"
