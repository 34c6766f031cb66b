"""Deployment settings: a Content-Security-Policy without inline scripts, framing denied, a Referrer-Policy,
and templates that need nothing the policy forbids."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", ["/", "/reports/", "/reports/map/", "/reports/new/", "/accounts/login/"])
def test_html_pages_carry_a_csp_that_allows_scripts_and_styles_only_from_our_own_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = _directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert "https://tile.openstreetmap.org" in csp["img-src"]  # the map tiles
    assert not any("unsafe" in value for values in csp.values() for value in values)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_api_keeps_its_own_policy_that_forbids_everything(client):
    response = client.get("/api/v1/reports")
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_tile_host_of_map_tile_url_is_allowed_for_images():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 50, "MAP_TILE_URL": "https://{s}.tiles.example.net/{z}/{x}/{y}.png"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                             "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"],
                            env={**env, "DJANGO_SETTINGS_MODULE": "smartcity.settings"}, capture_output=True, text=True,
                            cwd=TEMPLATES.parent, timeout=60)
    assert "https://*.tiles.example.net" in result.stdout, result.stderr


def test_no_template_has_inline_scripts_styles_or_event_handler_attributes():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for line_number, line in enumerate(text.splitlines(), 1):
            inline_script = re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(ld\+)?json\")[^>]*>", line)
            handler = re.search(r"\son[a-z]+\s*=", line)
            style = re.search(r"<style\b|\sstyle\s*=", line)
            javascript_url = "javascript:" in line
            if inline_script or handler or style or javascript_url:
                offenders.append(f"{template.relative_to(TEMPLATES)}:{line_number}: {line.strip()[:120]}")
    assert offenders == []


def test_production_cookies_are_secure_and_hsts_is_on():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SESSION_COOKIE_SECURE", "SECURE_HSTS_SECONDS"}}
    env.update(DEBUG="0", SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="smartcity.settings")
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS >= 31536000, "
            "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.X_FRAME_OPTIONS)")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=TEMPLATES.parent,
                            timeout=60)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "DENY"], result.stderr
