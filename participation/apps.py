from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from participation.open311 import error_for_path
        from participation.photos import use_pixel_limit
        from smartcity.hostile_input import register_error_format

        use_pixel_limit()
        # The hub's NUL guard answers Open311 clients in the GeoReport error format (issue #7).
        register_error_format("/open311/", error_for_path)
