"""The security tests reuse the resident side's helpers: media in a temporary folder, a fresh cache
(rate limits count there), an English test client, a theme."""
from tests.participation.conftest import _fresh_cache, _media_in_a_temporary_folder, client, theme  # noqa: F401


def reset_password(client, email: str, new_password: str) -> None:  # noqa: F811 (the client fixture, passed in)
    """Through allauth's own flow: ask for the link, follow it from the email, choose a new password."""
    import re

    from django.core import mail

    sent = len(mail.outbox)
    assert client.post("/accounts/password/reset/", {"email": email}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[sent].body).group(1)
    form = client.get(link)
    assert form.status_code == 302, "allauth stores the key in the session and redirects"
    done = client.post(form.url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302, done.content.decode()[:2000]
