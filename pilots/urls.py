from django.urls import path

from pilots import call_views, views

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
    # Open innovation: calls, partners, proposals, assessment; residents' feedback.
    path("calls/", call_views.call_list, name="call-list"),
    path("calls/new/", call_views.call_create, name="call-create"),
    path("calls/<int:pk>/", call_views.call_detail, name="call-detail"),
    path("calls/<int:pk>/edit/", call_views.call_edit, name="call-edit"),
    path("calls/<int:pk>/publish/", call_views.call_publish, name="call-publish"),
    path("calls/<int:pk>/proposals/new/", call_views.proposal_create, name="proposal-create"),
    path("organisations/", call_views.organisation_list, name="organisation-list"),
    path("organisations/new/", call_views.organisation_create, name="organisation-create"),
    path("organisations/<int:pk>/", call_views.organisation_detail, name="organisation-detail"),
    path("proposals/", call_views.proposal_list, name="proposal-list"),
    path("proposals/<int:pk>/", call_views.proposal_detail, name="proposal-detail"),
    path("proposals/<int:pk>/edit/", call_views.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/submit/", call_views.proposal_submit, name="proposal-submit"),
    path("proposals/<int:pk>/attachments/", call_views.attachment_upload, name="attachment-upload"),
    path("proposals/<int:pk>/assessment/", call_views.assessment_edit, name="assessment-edit"),
    path("proposals/<int:pk>/decision/", call_views.proposal_decide, name="proposal-decide"),
    path("attachments/<int:pk>/", call_views.attachment_download, name="attachment-download"),
    path("<int:pk>/feedback/questions/new/", call_views.feedback_question_create, name="feedback-question-create"),
    path("feedback/<int:pk>/", call_views.feedback_answer, name="feedback-answer"),
    path("feedback/confirm/<str:token>/", call_views.feedback_confirm, name="feedback-confirm"),
    path("feedback/answers/<int:pk>/hide/", call_views.feedback_hide, name="feedback-hide"),
]
