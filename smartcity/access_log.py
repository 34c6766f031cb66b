"""gunicorn's access log with the client address our proxies vouch for (smartcity/clientip.py).

gunicorn writes REMOTE_ADDR as `%(h)s`: behind nginx that is nginx, for every line. gunicorn.conf.py
names this class, so the access log shows the same client as the limits and Django's own log lines.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from smartcity.clientip import address_from_meta


class TrustedClientLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["h"] = address_from_meta(environ)
        return atoms
