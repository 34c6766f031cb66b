from django.urls import path

from pilots import views

app_name = "pilots"

urlpatterns = [
    path("", views.pilot_list, name="pilot-list"),
    path("portfolio/", views.portfolio_dashboard, name="portfolio-dashboard"),
    path("new/", views.pilot_create, name="pilot-create"),
    path("<int:pk>/", views.pilot_detail, name="pilot-detail"),
    path("<int:pk>/edit/", views.pilot_edit, name="pilot-edit"),
    path("<int:pk>/gate/", views.gate_create, name="gate-create"),
    path("<int:pk>/stop/", views.pilot_stop, name="pilot-stop"),
    path("<int:pk>/kpis/new/", views.kpi_create, name="kpi-create"),
    path("kpis/<int:pk>/edit/", views.kpi_edit, name="kpi-edit"),
    path("kpis/<int:pk>/measurements/new/", views.measurement_create, name="measurement-create"),
    path("kpis/<int:pk>/measurements/import/", views.measurement_import, name="measurement-import"),
]
