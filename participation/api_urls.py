"""Residents' reports under /api/v1/ (included by smartcity/urls.py)."""
from rest_framework.routers import SimpleRouter

from participation import api

router = SimpleRouter(trailing_slash=False)
router.register("reports", api.ReportViewSet, basename="report")
router.register("categories", api.CategoryViewSet, basename="category")

urlpatterns = router.urls
