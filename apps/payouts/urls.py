from django.urls import path

from apps.payouts import views

app_name = "payouts"
urlpatterns = [
    path("", views.batch_list, name="list"),
    path("prepare/", views.batch_prepare, name="prepare"),
    path("details/", views.payout_details_view, name="details"),
    path("details/change/", views.payout_details_change, name="details_change"),
    path("<uuid:public_id>/", views.batch_detail, name="batch"),
    path("<uuid:public_id>/approve/", views.batch_approve, name="approve"),
    path("<uuid:public_id>/cancel/", views.batch_cancel, name="cancel"),
    path("<uuid:public_id>/export/", views.batch_export, name="export"),
    path("<uuid:public_id>/results/", views.batch_results, name="results"),
    path("items/<uuid:public_id>/paid/", views.item_paid, name="item_paid"),
    path("items/<uuid:public_id>/failed/", views.item_failed, name="item_failed"),
]
