from django.urls import path

from apps.statements.api import views

urlpatterns = [
    path("", views.StatementListApi.as_view(), name="api-statements"),
    path("draft/", views.StatementsDraftApi.as_view(), name="api-statements-draft"),
    path("quarter-report/", views.QuarterIncomeReportApi.as_view(), name="api-statements-quarter-report"),
    path("<uuid:public_id>/", views.StatementDetailApi.as_view(), name="api-statement"),
    path("<uuid:public_id>/publish/", views.StatementPublishApi.as_view(), name="api-statement-publish"),
    path(
        "<uuid:public_id>/late-interest/",
        views.StatementLateInterestPostApi.as_view(),
        name="api-statement-late-interest",
    ),
    path(
        "<uuid:public_id>/acknowledge/",
        views.StatementAcknowledgeApi.as_view(),
        name="api-statement-acknowledge",
    ),
]
