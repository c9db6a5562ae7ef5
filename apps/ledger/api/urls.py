from django.urls import path

from apps.ledger.api import views

urlpatterns = [
    path("entries/", views.EntryListApi.as_view(), name="api-ledger-entries"),
    path("entries/<uuid:public_id>/", views.EntryDetailApi.as_view(), name="api-ledger-entry"),
    path("balances/", views.BalanceListApi.as_view(), name="api-ledger-balances"),
]
