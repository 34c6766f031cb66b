"""Residents' pages under the `participation` namespace. Staff pages (issue #4) live in staff_views."""
from django.conf import settings
from django.urls import path

from participation import staff_views, views

app_name = "participation"

urlpatterns = [
    path("reports/", views.report_list, name="report-list"),
    path("reports/map/", views.report_map, name="report-map"),
    path("reports/new/", views.report_create, name="report-create"),
    path("reports/nearby/", views.report_nearby, name="report-nearby"),
    path("addresses/search", views.address_search, name="address-search"),
    path("addresses/reverse", views.address_reverse, name="address-reverse"),
    path("reports.geojson", views.report_geojson, name="report-geojson"),
    path("reports/<int:pk>/", views.report_detail, name="report-detail"),
    # Photos where ReportPhoto.image.url points; nothing else under MEDIA_URL has a route.
    path(f"{settings.MEDIA_URL.strip('/')}/reports/<path:name>", views.report_photo, name="report-photo"),
    path("reports/<int:pk>/support/", views.report_support, name="report-support"),
    path("reports/<int:pk>/follow/", views.report_follow, name="report-follow"),
    path("reports/<int:pk>/comments/", views.comment_create, name="comment-create"),
    path("reports/<int:pk>/hide/", views.report_hide, name="report-hide"),
    path("comments/<int:pk>/hide/", views.comment_hide, name="comment-hide"),
    path("reports/confirm/<str:token>/", views.contact_confirm, name="contact-confirm"),
    path("reports/support/confirm/<str:token>/", views.support_confirm, name="support-confirm"),
    path("reports/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("my/reports/", views.my_reports, name="my-reports"),
    path("my/reports/send/", views.my_reports_request, name="my-reports-request"),
    path("reports/manage/<str:token>/", views.report_manage, name="report-manage"),
    path("reports/<int:pk>/reopen/", views.report_reopen, name="report-reopen"),
    path("my/export.json", views.my_export, name="my-export"),
    path("my/delete/", views.account_delete, name="account-delete"),
    # The staff workspace (issue #4): the triage queue and the staff report page with its actions.
    path("staff/", staff_views.report_queue, name="staff-report-list"),
    path("staff/reports/bulk/", staff_views.report_bulk, name="staff-report-bulk"),
    path("staff/reports/markers.json", staff_views.report_queue_markers, name="staff-report-markers"),
    path("staff/reports/<int:pk>/", staff_views.report_detail, name="staff-report-detail"),
    path("staff/reports/<int:pk>/route/", staff_views.report_route, name="staff-report-route"),
    path("staff/reports/<int:pk>/status/", staff_views.report_status, name="staff-report-status"),
    path("staff/reports/<int:pk>/category/", staff_views.report_category, name="staff-report-category"),
    path("staff/reports/<int:pk>/message/", staff_views.report_message, name="staff-report-message"),
    path("staff/reports/<int:pk>/note/", staff_views.report_note, name="staff-report-note"),
    path("staff/reports/<int:pk>/merge/", staff_views.report_merge, name="staff-report-merge"),
    path("staff/reports/<int:pk>/merge-here/", staff_views.report_merge_here, name="staff-report-merge-here"),
    path("staff/reports/<int:pk>/priority/", staff_views.report_priority, name="staff-report-priority"),
    path("staff/reports/<int:pk>/location/", staff_views.report_move, name="staff-report-location"),
    path("staff/reports/<int:pk>/challenges/", staff_views.report_societal_challenges, name="staff-report-challenges"),
    path("staff/filters/", staff_views.saved_filter_create, name="staff-filter-create"),
    path("staff/filters/<int:pk>/delete/", staff_views.saved_filter_delete, name="staff-filter-delete"),
]
