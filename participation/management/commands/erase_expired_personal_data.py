"""Retention, as the privacy statement promises: what Celery beat does every six hours.

Reporters' contact details REPORTER_CONTACT_RETENTION_DAYS after a report closed, anonymous supporters'
addresses SUPPORTER_EMAIL_RETENTION_DAYS after it closed (the supports keep counting).
"""
from django.core.management.base import BaseCommand

from participation.services import personal_data_erase_expired


class Command(BaseCommand):
    help = "Erase reporters' contact details and anonymous supporters' addresses past their retention period."

    def handle(self, *args, **options):
        erased = personal_data_erase_expired()
        self.stdout.write(f"{erased['reporter_contacts']} reporter contacts and {erased['supporter_emails']} "
                          "supporter addresses erased.")
