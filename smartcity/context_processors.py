from django.conf import settings
from django.http import HttpRequest

from smartcity import permissions


def platform(request: HttpRequest) -> dict:
    user = request.user
    return {
        "SITE_NAME": settings.SITE_NAME,
        "OIDC_ENABLED": settings.OIDC_ENABLED,
        "is_staff_member": permissions.is_staff_member(user) if hasattr(request, "user") else False,
    }
