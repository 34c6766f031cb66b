from django.conf import settings
from django.http import HttpRequest

from smartcity import permissions


def platform(request: HttpRequest) -> dict:
    user = request.user
    return {
        "SITE_NAME": settings.SITE_NAME,
        "CITY_NAME": settings.CITY_NAME,
        "CITY_LOGO": settings.CITY_LOGO,
        "BUNDLED_FONTS": settings.BUNDLED_FONTS,
        "CITY_THEME": bool(settings.CITY_PRIMARY_COLOR or settings.CITY_SECONDARY_COLOR),
        "OIDC_ENABLED": settings.OIDC_ENABLED,
        "is_staff_member": permissions.is_staff_member(user) if hasattr(request, "user") else False,
    }
