from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from participation.photos import use_pixel_limit

        use_pixel_limit()
