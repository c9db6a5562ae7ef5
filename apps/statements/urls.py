from django.urls import path

from apps.statements import views

app_name = "statements"
urlpatterns = [
    path("", views.statement_list_view, name="list"),
    path("draft/", views.statements_draft_view, name="draft"),
    path("publish/", views.statements_publish_month_view, name="publish_month"),
    path("quarter-report/", views.quarter_report_view, name="quarter_report"),
    path("<uuid:public_id>/", views.statement_detail, name="detail"),
    path("<uuid:public_id>/pdf/", views.statement_pdf, name="pdf"),
    path("<uuid:public_id>/csv/", views.statement_csv_view, name="csv"),
    path("<uuid:public_id>/publish/", views.statement_publish_view, name="publish"),
    path("<uuid:public_id>/correct/", views.statement_correct_view, name="correct"),
    path("<uuid:public_id>/late-interest/", views.statement_late_interest_post_view, name="late_interest"),
    path("<uuid:public_id>/acknowledge/", views.statement_acknowledge_view, name="acknowledge"),
]
