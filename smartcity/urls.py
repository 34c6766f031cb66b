"""The root URLconf, and the hub's own pages under the `smartcity` namespace. The other apps' pages and API
resources are included by name, so this file imports none of them."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from smartcity import staff_views, views
from smartcity.api_docs import api_docs

app_name = "smartcity"

hub_patterns = (
    [
        path("", views.home, name="home"),
        path("city-theme.css", views.city_theme, name="city-theme"),
        path("themes/", views.theme_list, name="theme-list"),
        path("themes/<slug:slug>/", views.theme_detail, name="theme-detail"),
        path("challenges/", views.societal_challenge_list, name="societal-challenge-list"),
        path("challenges/<int:pk>/", views.societal_challenge_detail, name="societal-challenge-detail"),
        path("department-challenges/<int:pk>/", views.department_challenge_detail, name="department-challenge-detail"),
        path("department-challenges/", staff_views.department_challenge_list, name="department-challenge-list"),
        path("departments/<slug:slug>/challenges/", staff_views.department_challenge_list, name="department-challenge-list"),
        path("staff/department-challenges/new/", staff_views.department_challenge_create, name="department-challenge-create"),
        path("staff/department-challenges/<int:pk>/edit/", staff_views.department_challenge_edit, name="department-challenge-edit"),
        path("staff/department-challenges/<int:pk>/close/", staff_views.department_challenge_close, name="department-challenge-close"),
        path("staff/societal-challenges/", staff_views.societal_challenge_manage, name="societal-challenge-manage"),
        path("staff/societal-challenges/new/", staff_views.societal_challenge_create, name="societal-challenge-create"),
        path("staff/societal-challenges/<int:pk>/edit/", staff_views.societal_challenge_edit, name="societal-challenge-edit"),
        path("accessibility/", views.accessibility_statement, name="accessibility"),
        path("privacy/", views.privacy_statement, name="privacy"),
    ],
    "smartcity",
)

api_patterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # Browsable docs: the OpenAPI document as an accessible page in the site's layout.
    path("docs", api_docs, name="api-docs"),
    # Each app's resources, by name: the hub imports no other app of ours (docs/architecture.md).
    path("", include("smartcity.api_urls")),
    path("", include("participation.api_urls")),
    path("", include("pilots.api_urls")),
    path("", include("matching.api_urls")),
]

urlpatterns = [
    path("", include(hub_patterns)),
    path("", include("participation.urls")),
    path("health", views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    # Before the admin's own login: staff sign in through allauth (smartcity/views.py).
    path("admin/login/", views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_patterns)),
    path("pilots/", include("pilots.urls")),
    path("", include("matching.urls")),
    path("", include("insight.urls")),
    path("open311/v2/", include("participation.open311_urls")),
    path("open-data/", include("participation.open_data_urls")),
]

# No catch-all for MEDIA_URL, not even with DEBUG: photos have their own view (participation.views.report_photo),
# and pending photos, the matching model and the rest of MEDIA_ROOT are never served.

handler403 = "smartcity.views.permission_denied"
handler404 = "smartcity.views.page_not_found"
handler500 = "smartcity.views.server_error"
