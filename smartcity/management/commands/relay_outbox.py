"""Publish new outbox messages as they are committed: the outbox relay (smartcity/outbox.py).

    OUTBOX_RELAY=1 python manage.py relay_outbox     # one long-running process; docker-compose.yml's `relay`

Runs until SIGTERM or SIGINT, finishing the batch in hand. More than one may run (each takes rows the
others have not locked); one is enough for hundreds of reports a second.
"""
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from smartcity.outbox import outbox_relay


class Command(BaseCommand):
    help = "Publish new outbox messages as they are committed (the relay OUTBOX_RELAY=1 expects)."

    def handle(self, *args, **options):
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if not settings.OUTBOX_RELAY:
            self.stderr.write("OUTBOX_RELAY is off: the web processes publish their own messages; relaying anyway.")
        self.stdout.write("Outbox relay started.")
        self.stdout.flush()
        outbox_relay(stop=lambda: bool(stopping))
        self.stdout.write("Outbox relay stopped.")
