"""The Celery app. Without REDIS_URL the settings make every task run eagerly in-process."""
import os

import celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartcity.settings")


class Task(celery.Task):
    """Every task of ours. One published from the outbox reports a final failure to its outbox message,
    which would otherwise say "sent" for work that never happened (smartcity/outbox.py)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # In-process (no broker) the outbox's own publish sees the failure and records it.
        if not self.request.is_eager:
            from smartcity.outbox import outbox_mark_failed

            outbox_mark_failed(task_id=task_id, error=exc)
        super().on_failure(exc, task_id, args, kwargs, einfo)


app = celery.Celery("smartcity", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
