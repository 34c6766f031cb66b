"""The pilot portfolio under /api/v1/ (included by smartcity/urls.py)."""
from rest_framework.routers import SimpleRouter

from pilots import api, call_api

router = SimpleRouter(trailing_slash=False)
router.register("pilots", api.PilotViewSet, basename="pilot")
router.register("kpis", api.KPIViewSet, basename="kpi")
router.register("calls", call_api.CallViewSet, basename="call")
router.register("proposals", call_api.ProposalViewSet, basename="proposal")

urlpatterns = router.urls
