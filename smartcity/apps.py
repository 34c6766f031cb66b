from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartcityConfig(AppConfig):
    name = "smartcity"
    verbose_name = _("Smart city hub")

    def ready(self) -> None:
        from smartcity import checks  # noqa: F401  (registers itself)
