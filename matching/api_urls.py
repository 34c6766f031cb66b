"""The matching's resources under /api/v1/ (included by smartcity/urls.py)."""
from rest_framework.routers import SimpleRouter

from matching import api

router = SimpleRouter(trailing_slash=False)
router.register("matching/runs", api.MatchingRunViewSet, basename="matching-run")
router.register("suggestions", api.SuggestionViewSet, basename="suggestion")
router.register("matches", api.MatchViewSet, basename="match")
router.register("no-challenge-decisions", api.NoChallengeDecisionViewSet, basename="no-challenge-decision")

urlpatterns = router.urls
