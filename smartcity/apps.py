from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartcityConfig(AppConfig):
    name = "smartcity"
    verbose_name = _("Smart city hub")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from smartcity import checks  # noqa: F401  (registers itself)
        from smartcity.pagecache import watch_writes

        # Every committed write moves the public pages' version (smartcity/pagecache.py).
        connection_created.connect(watch_writes, dispatch_uid="smartcity.pagecache.watch_writes")
        watch_writes()
