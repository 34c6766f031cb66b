"""The NL GOV API Design Rules' own linter (Logius' Spectral ruleset, vendored in tools/api-design-rules/) finds
no error and no warning in the OpenAPI document, made as production makes it: with an https SITE_URL.

Needs npm's @stoplight/spectral-cli (`npm ci`): skips without it, fails under REQUIRE_SERVICES=1 (as in CI)."""
from __future__ import annotations

import json
import subprocess

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.conftest import ROOT, require_service

RULESET = ROOT / "tools" / "api-design-rules" / "linter.yaml"
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"


def lint(document) -> list[dict]:
    result = subprocess.run(
        [str(SPECTRAL), "lint", "--ruleset", str(RULESET), "--format", "json", "--quiet", str(document)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def spectral():
    require_service(SPECTRAL.exists(), "@stoplight/spectral-cli is not installed (npm ci)")


@pytest.fixture
def document(tmp_path):
    path = tmp_path / "openapi.json"
    with override_settings(SITE_URL="https://stadslab.example.org"):
        call_command("spectacular", "--file", str(path), "--format", "openapi-json")
    return path


def test_the_official_linter_finds_no_error_or_warning_in_the_openapi_document(spectral, document):
    findings = lint(document)
    assert [(item["code"], ".".join(map(str, item["path"])), item["message"]) for item in findings] == []


def test_the_linter_is_the_vendored_ruleset_and_it_catches_a_missing_version_header(spectral, document, tmp_path):
    """A check that the check works: drop one operation's API-Version header and the linter must say so."""
    spoiled = json.loads(document.read_text())
    del spoiled["paths"]["/themes"]["get"]["responses"]["200"]["headers"]
    (tmp_path / "spoiled.json").write_text(json.dumps(spoiled))
    codes = {item["code"] for item in lint(tmp_path / "spoiled.json")}
    assert "nlgov:missing-header" in codes
