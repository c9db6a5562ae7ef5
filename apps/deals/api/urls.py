from django.urls import path

from apps.deals.api import views

urlpatterns = [
    path("", views.DealListApi.as_view(), name="api-deals"),
    path("exceptions/", views.ExceptionLineListApi.as_view(), name="api-deal-exceptions"),
    path(
        "exceptions/<uuid:public_id>/assign-deal/",
        views.ExceptionLineAssignDealApi.as_view(),
        name="api-deal-exception-assign-deal",
    ),
    path(
        "exceptions/<uuid:public_id>/assign-creator/",
        views.ExceptionLineAssignCreatorApi.as_view(),
        name="api-deal-exception-assign-creator",
    ),
    path(
        "exceptions/<uuid:public_id>/dismiss/",
        views.ExceptionLineDismissApi.as_view(),
        name="api-deal-exception-dismiss",
    ),
    path(
        "deliverables/<uuid:public_id>/deliver/",
        views.DeliverableDeliverApi.as_view(),
        name="api-deliverable-deliver",
    ),
    path(
        "expenses/<uuid:public_id>/approve/",
        views.DealExpenseApproveApi.as_view(),
        name="api-deal-expense-approve",
    ),
    path(
        "expenses/<uuid:public_id>/reject/",
        views.DealExpenseRejectApi.as_view(),
        name="api-deal-expense-reject",
    ),
    path(
        "expenses/<uuid:public_id>/receipt/",
        views.DealExpenseReceiptApi.as_view(),
        name="api-deal-expense-receipt",
    ),
    path("<uuid:public_id>/", views.DealDetailApi.as_view(), name="api-deal"),
    path("<uuid:public_id>/deliver/", views.DealDeliverApi.as_view(), name="api-deal-deliver"),
    path("<uuid:public_id>/invoice/", views.DealInvoiceApi.as_view(), name="api-deal-invoice"),
    path("<uuid:public_id>/cancel/", views.DealCancelApi.as_view(), name="api-deal-cancel"),
    path("<uuid:public_id>/deliverables/", views.DeliverableListApi.as_view(), name="api-deal-deliverables"),
    path("<uuid:public_id>/expenses/", views.DealExpenseListApi.as_view(), name="api-deal-expenses"),
]
