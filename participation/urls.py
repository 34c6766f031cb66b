"""Residents' pages under the `participation` namespace. Staff pages (issue #4) live in staff_views."""
from django.urls import path

from participation import staff_views

app_name = "participation"

urlpatterns = [
    # The staff workspace (issue #4): the triage queue and the staff report page with its actions.
    path("staff/", staff_views.report_queue, name="staff-report-list"),
    path("staff/reports/bulk/", staff_views.report_bulk, name="staff-report-bulk"),
    path("staff/reports/<int:pk>/", staff_views.report_detail, name="staff-report-detail"),
    path("staff/reports/<int:pk>/route/", staff_views.report_route, name="staff-report-route"),
    path("staff/reports/<int:pk>/status/", staff_views.report_status, name="staff-report-status"),
    path("staff/reports/<int:pk>/message/", staff_views.report_message, name="staff-report-message"),
    path("staff/reports/<int:pk>/note/", staff_views.report_note, name="staff-report-note"),
    path("staff/reports/<int:pk>/merge/", staff_views.report_merge, name="staff-report-merge"),
    path("staff/reports/<int:pk>/challenges/", staff_views.report_societal_challenges, name="staff-report-challenges"),
    path("staff/filters/", staff_views.saved_filter_create, name="staff-filter-create"),
    path("staff/filters/<int:pk>/delete/", staff_views.saved_filter_delete, name="staff-filter-delete"),
]
