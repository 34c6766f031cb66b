"""A full matching run from the command line: what Celery beat starts nightly, for cron when beat is down.

    python manage.py run_matching              # queue a run (or join the one queued); the worker does it
    python manage.py run_matching --here       # and do it in this process, e.g. when no worker runs

Without REDIS_URL tasks run in-process, so a plain `run_matching` does the run before it returns.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from matching.models import MatchingRun
from matching.services import matching_run_execute, matching_run_start


class Command(BaseCommand):
    help = "Start a full matching run: suggestions for every item and the match flags, as the nightly run does."

    def add_arguments(self, parser):
        parser.add_argument("--here", action="store_true",
                            help="run it in this process instead of leaving it to a worker (the queued task then "
                                 "finds it done and does nothing)")

    def handle(self, *args, **options):
        run = matching_run_start(by=None)
        if options["here"]:
            matching_run_execute(run_id=run.pk)
        run.refresh_from_db()
        if run.status == MatchingRun.Status.FAILED:
            raise CommandError(f"Matching run {run.pk} failed: {run.error}")
        self.stdout.write(f"Matching run {run.pk} is {run.status}: suggestions and flags appear under /staff/matches/.")
