from django.urls import path

from apps.deals import views

app_name = "deals"
urlpatterns = [
    path("", views.deal_list, name="list"),
    path("new/", views.deal_new, name="new"),
    path("exceptions/", views.exception_queue, name="queue"),
    path("exceptions/<uuid:public_id>/assign-deal/", views.queue_assign_deal, name="queue_assign_deal"),
    path(
        "exceptions/<uuid:public_id>/assign-creator/", views.queue_assign_creator, name="queue_assign_creator"
    ),
    path("exceptions/<uuid:public_id>/dismiss/", views.queue_dismiss, name="queue_dismiss"),
    path("deliverables/<uuid:public_id>/deliver/", views.deliverable_deliver, name="deliverable_deliver"),
    path("expenses/<uuid:public_id>/approve/", views.expense_approve, name="expense_approve"),
    path("expenses/<uuid:public_id>/reject/", views.expense_reject, name="expense_reject"),
    path("expenses/<uuid:public_id>/receipt/", views.expense_receipt, name="receipt"),
    path("<uuid:public_id>/", views.deal_detail, name="detail"),
    path("<uuid:public_id>/deliver/", views.deal_deliver, name="deliver"),
    path("<uuid:public_id>/invoice/", views.deal_invoice, name="invoice"),
    path("<uuid:public_id>/cancel/", views.deal_cancel_view, name="cancel"),
    path("<uuid:public_id>/deliverables/", views.deliverable_new, name="deliverable_new"),
    path("<uuid:public_id>/expenses/", views.expense_new, name="expense_new"),
]
