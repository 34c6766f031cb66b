"""allauth adapters.

Residents sign up with email and password. Staff may also sign in with the city's
OpenID Connect provider; their email is verified by that provider, and their roles are
still given by an administrator (smartcity/permissions.py), never by the provider.
"""
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class StaffOpenIDConnectAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.display_name = (data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")])))[:80]
        return user
