"""The hub's API resources under /api/v1/ (NL GOV API Design Rules: plural kebab-case nouns, no trailing slash)."""
from rest_framework.routers import SimpleRouter

from smartcity import api

router = SimpleRouter(trailing_slash=False)
router.register("themes", api.ThemeViewSet, basename="theme")
router.register("departments", api.DepartmentViewSet, basename="department")
router.register("societal-challenges", api.SocietalChallengeViewSet, basename="societal-challenge")
router.register("department-challenges", api.DepartmentChallengeViewSet, basename="department-challenge")

urlpatterns = router.urls
