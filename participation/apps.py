from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from participation.forms import CATEGORIES_VERSION
        from participation.models import QUEUE_CHOICES_VERSION, Category, ServiceQuestion
        from participation.open311 import error_for_path
        from participation.photos import use_pixel_limit
        from participation.services import AREAS_VERSION, residents_hear_news
        from smartcity.hostile_input import register_error_format
        from smartcity.models import Area, Department, Theme
        from smartcity.pagecache import watch_table
        from smartcity.signals import residents_news

        use_pixel_limit()
        # The hub's NUL guard answers Open311 clients in the GeoReport error format (issue #7).
        register_error_format("/open311/", error_for_path)
        # Open calls and pilots (the portfolio never imports participation) tell residents through the hub.
        residents_news.connect(residents_hear_news, dispatch_uid="participation-residents-news")
        # The report form keeps the categories and their questions until one of these tables is written.
        for model in (Category, ServiceQuestion, Theme):
            watch_table(model._meta.db_table, CATEGORIES_VERSION)
        # The queue keeps its rendered filter and bulk forms, the names in its rows and the themes' targets until
        # one of these tables is written.
        for model in (Theme, Area, Department, Category):
            watch_table(model._meta.db_table, QUEUE_CHOICES_VERSION)
        # A report posted finds its neighbourhood among those its process keeps until one is written.
        watch_table(Area._meta.db_table, AREAS_VERSION)
