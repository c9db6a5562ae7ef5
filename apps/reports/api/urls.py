from django.urls import path

from apps.reports.api import views

urlpatterns = [
    path("revenue/", views.RevenueReportApi.as_view(), name="api-reports-revenue"),
    path("revenue/csv/", views.RevenueReportCsvApi.as_view(), name="api-reports-revenue-csv"),
]
