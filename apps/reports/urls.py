from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.revenue_page, name="revenue"),
    path("revenue.csv", views.revenue_csv, name="revenue_csv"),
]
