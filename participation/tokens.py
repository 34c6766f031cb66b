"""Signed links in emails: confirm a contact address, confirm an anonymous support, unsubscribe."""
from __future__ import annotations

from django.core import signing

CONFIRM_MAX_AGE = 7 * 24 * 3600
_CONTACT_SALT = "participation.contact-confirm"
_SUPPORT_SALT = "participation.support-confirm"
_UNSUBSCRIBE_SALT = "participation.unsubscribe"


def contact_confirm_token(report_id: int, email: str) -> str:
    return signing.TimestampSigner(salt=_CONTACT_SALT).sign_object({"r": report_id, "e": email.lower()})


def read_contact_confirm_token(token: str) -> tuple[int, str]:
    """(report id, email); raises signing.BadSignature (or SignatureExpired) for a bad or old link."""
    data = signing.TimestampSigner(salt=_CONTACT_SALT).unsign_object(token, max_age=CONFIRM_MAX_AGE)
    return int(data["r"]), str(data["e"])


def support_confirm_token(report_id: int, email: str) -> str:
    return signing.TimestampSigner(salt=_SUPPORT_SALT).sign_object({"r": report_id, "e": email.lower()})


def read_support_confirm_token(token: str) -> tuple[int, str]:
    data = signing.TimestampSigner(salt=_SUPPORT_SALT).unsign_object(token, max_age=CONFIRM_MAX_AGE)
    return int(data["r"]), str(data["e"])


def unsubscribe_token(*, report_id: int, follow_id: int | None = None) -> str:
    """For a follower (follow_id) or for the reporter's contact address (no follow_id). Never expires."""
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign_object({"r": report_id, "f": follow_id})


def read_unsubscribe_token(token: str) -> tuple[int, int | None]:
    data = signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign_object(token)
    return int(data["r"]), data["f"]
