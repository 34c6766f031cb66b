"""The statistics page (public) and the staff dashboards, under the `insight` namespace."""
from django.urls import path

from insight import views

app_name = "insight"

urlpatterns = [
    path("statistics/", views.statistics, name="statistics"),
    path("statistics/<slug:chart>.csv", views.statistics_csv, name="statistics-csv"),
    path("staff/insight/", views.department_dashboard_list, name="department-dashboard-list"),
    path("staff/insight/departments/<slug:slug>/", views.department_dashboard, name="department-dashboard"),
    path("staff/insight/departments/<slug:slug>/<slug:chart>.csv", views.department_dashboard_csv,
         name="department-dashboard-csv"),
    path("staff/insight/pilot-opportunities/", views.pilot_opportunity_list, name="pilot-opportunity-list"),
    path("staff/insight/pilot-opportunities.csv", views.pilot_opportunity_csv, name="pilot-opportunity-csv"),
]
