"""The staff's matching pages under the `matching` namespace: "Where departments meet", runs, decisions."""
from django.urls import path

from matching import views

app_name = "matching"

urlpatterns = [
    path("reports/category-suggestion", views.category_suggest, name="category-suggest"),
    path("staff/matches/", views.match_list, name="match-list"),
    path("staff/matches/<int:pk>/decide", views.match_decide, name="match-decide"),
    path("staff/suggestions/<int:pk>/decide", views.suggestion_decide, name="suggestion-decide"),
    path("staff/items/<str:item_type>/<int:pk>/no-challenge", views.no_challenge_decide, name="no-challenge-decide"),
    path("staff/matching/", views.matching_run_list, name="matching-run-list"),
    path("staff/matching/<int:pk>/progress", views.matching_run_progress, name="matching-run-progress"),
]
