from django.urls import path

from apps.payouts.api import views

urlpatterns = [
    path("batches/", views.PayoutBatchListApi.as_view(), name="api-payout-batches"),
    path("batches/<uuid:public_id>/", views.PayoutBatchDetailApi.as_view(), name="api-payout-batch"),
    path(
        "batches/<uuid:public_id>/items/", views.PayoutBatchItemsApi.as_view(), name="api-payout-batch-items"
    ),
    path(
        "batches/<uuid:public_id>/approve/",
        views.PayoutBatchApproveApi.as_view(),
        name="api-payout-batch-approve",
    ),
    path(
        "batches/<uuid:public_id>/export/",
        views.PayoutBatchExportApi.as_view(),
        name="api-payout-batch-export",
    ),
    path(
        "batches/<uuid:public_id>/results/",
        views.PayoutBatchResultsApi.as_view(),
        name="api-payout-batch-results",
    ),
    path("items/<uuid:public_id>/paid/", views.PayoutItemPaidApi.as_view(), name="api-payout-item-paid"),
    path(
        "items/<uuid:public_id>/failed/", views.PayoutItemFailedApi.as_view(), name="api-payout-item-failed"
    ),
]
