"""The settings of an outbox relay that a test starts (tests/conftest.py, outbox_relay_process): the production
settings, publishing to the queue of the test's own worker instead of Celery's default one."""
import os

from smartcity.settings import *  # noqa: F401,F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["TEST_CELERY_QUEUE"]
