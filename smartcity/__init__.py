"""The project and the hub app. Importing the Celery app here makes `shared_task` use it."""
from smartcity.celery import app as celery_app

__all__ = ["celery_app"]
