"""Open data under /open-data/ (participation/exports.py): live exports and the daily dump."""
from django.urls import path

from participation import exports

app_name = "open_data"

urlpatterns = [
    path("", exports.open_data_overview, name="overview"),
    path("reports.csv", exports.report_export_csv, name="report-export-csv"),
    path("reports.geojson", exports.report_export_geojson, name="report-export-geojson"),
    path("dump/<str:name>", exports.open_data_file, name="dump-file"),
]
