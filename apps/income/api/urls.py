from django.urls import path

from apps.income.api import views

urlpatterns = [
    path("imports/", views.StatementImportListApi.as_view(), name="api-income-imports"),
    path("imports/<uuid:public_id>/", views.StatementImportDetailApi.as_view(), name="api-income-import"),
    path("lines/", views.IncomeLineListApi.as_view(), name="api-income-lines"),
    path("lines/<uuid:public_id>/", views.IncomeLineDetailApi.as_view(), name="api-income-line"),
    path("rates/", views.FxRateListApi.as_view(), name="api-income-rates"),
]
