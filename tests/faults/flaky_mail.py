"""An email backend whose server fails the first FAILURES sends, then delivers to django.core.mail.outbox."""
from __future__ import annotations

import smtplib

from django.core.mail.backends.locmem import EmailBackend


class FlakyEmailBackend(EmailBackend):
    FAILURES = 2
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).attempts <= self.FAILURES:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
