"""gunicorn's configuration for production: the Docker image and docker-compose.yml run
`gunicorn -c gunicorn.conf.py smartcity.wsgi:application`; flags on the command line win over it.

gunicorn is meant to sit behind the buffering proxy in deploy/nginx/ (docs/operations.md, "The
reverse proxy"). nginx reads each request whole before passing it on and takes each answer as fast
as gunicorn writes it, so a worker is busy only while Django computes, never while a slow phone
uploads a photo or downloads an export. That is why plain sync workers are right here: no threads
or event loop to share one slow client with others, and `timeout` kills a request that computes
too long. Without the proxy, three clients sending a body at 1 byte/s hold three sync workers and
the site stops answering (tests/faults/test_proxy.py shows both).
"""
import os

# The image listens on all its interfaces (GUNICORN_BIND in the Dockerfile); elsewhere only on this machine.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# About two per core; each holds one request at a time.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "sync"
# A request computing longer than this is killed. Live exports are capped (OPEN_DATA_LIVE_MAX_ROWS)
# to finish well within it; the full set is the daily dump, which nginx sends from disk.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# The heartbeat file on tmpfs: a slow disk (or an overlay filesystem) must not make a worker look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The proxy's address may set X-Forwarded-Proto. In docker-compose gunicorn is reachable only from
# the stack's own network, so "*" is safe there (compose sets it); the default trusts the machine only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Hostile headers are refused before Django sees them; nginx has the same limits
# (large_client_header_buffers 4 8k), so these only matter when gunicorn is reached directly.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190

accesslog = "-"
# %(h)s is the client our proxies vouch for (TRUSTED_PROXY_COUNT), not the proxy; the request time in seconds last.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(B)s "%(f)s" "%(a)s" %(L)s'
logger_class = "smartcity.access_log.TrustedClientLogger"
