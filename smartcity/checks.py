"""System checks for settings that `settings.py` cannot judge alone (`manage.py check --deploy` shows them)."""
from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def behind_proxy_is_deprecated(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if not settings.BEHIND_PROXY or settings.TRUSTED_PROXY_COUNT > 0:
        return []
    return [checks.Warning(
        "BEHIND_PROXY is deprecated: it trusts X-Forwarded-Proto, but the client's address now comes from "
        "X-Forwarded-For only with TRUSTED_PROXY_COUNT, so every per-address limit counts the proxy's address.",
        hint="Set TRUSTED_PROXY_COUNT to the number of proxies of your own in front of gunicorn (1 behind "
             "docker-compose's nginx) and remove BEHIND_PROXY.",
        id="smartcity.W001",
    )]
