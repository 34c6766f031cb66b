from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartcityConfig(AppConfig):
    name = "smartcity"
    verbose_name = _("Smart city hub")

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from smartcity import checks, services  # noqa: F401  (checks registers itself)

        # A deleted item's sentence vector goes with it.
        for model, item_type in services.VECTOR_MODELS.items():
            post_delete.connect(services.vector_forget, sender=model, dispatch_uid=f"vector-forget-{item_type}")
