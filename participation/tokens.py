"""Signed links in emails: confirm a contact address, confirm an anonymous support, unsubscribe, manage a report."""
from __future__ import annotations

from django.core import signing

CONFIRM_MAX_AGE = 7 * 24 * 3600
# One salt per purpose: a link that confirms a support never confirms a contact address, nor the other way.
CONFIRM_SALTS = {"contact": "participation.contact-confirm", "support": "participation.support-confirm"}
_UNSUBSCRIBE_SALT = "participation.unsubscribe"


def confirm_token(purpose: str, report_id: int, email: str) -> str:
    """A link that confirms `email` for `purpose` ("contact": the reporter's updates; "support": a support)."""
    return signing.TimestampSigner(salt=CONFIRM_SALTS[purpose]).sign_object({"r": report_id, "e": email.lower()})


def read_confirm_token(purpose: str, token: str) -> tuple[int, str]:
    """(report id, email); raises signing.BadSignature (or SignatureExpired) for a bad or old link."""
    data = signing.TimestampSigner(salt=CONFIRM_SALTS[purpose]).unsign_object(token, max_age=CONFIRM_MAX_AGE)
    return int(data["r"]), str(data["e"])


def unsubscribe_token(*, report_id: int, follow_id: int | None = None) -> str:
    """For a follower (follow_id) or for the reporter's contact address (no follow_id). Never expires."""
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign_object({"r": report_id, "f": follow_id})


def read_unsubscribe_token(token: str) -> tuple[int, int | None]:
    data = signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign_object(token)
    return int(data["r"]), data["f"]


_MANAGE_SALT = "participation.manage"


def manage_token(report_id: int, email: str) -> str:
    """The private "manage my report" link of a reporter without an account: for this report and this contact
    address. It expires after MANAGE_LINK_DAYS; every email to the reporter carries a fresh one, and "send me my
    reports" sends new ones."""
    return signing.TimestampSigner(salt=_MANAGE_SALT).sign_object({"r": report_id, "e": email.lower()})


def read_manage_token(token: str) -> tuple[int, str]:
    """(report id, email); raises signing.BadSignature (SignatureExpired for an old link)."""
    from django.conf import settings

    data = signing.TimestampSigner(salt=_MANAGE_SALT).unsign_object(token, max_age=settings.MANAGE_LINK_DAYS * 24 * 3600)
    return int(data["r"]), str(data["e"])
