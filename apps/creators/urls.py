from django.urls import path

from apps.creators import views

app_name = "creators"

urlpatterns = [
    path("profile/", views.creator_profile, name="profile"),
    path("accounts/", views.platform_accounts, name="accounts"),
    path("accounts/<uuid:public_id>/confirm/", views.platform_account_confirm_view, name="account-confirm"),
    path("accounts/<uuid:public_id>/reject/", views.platform_account_reject_view, name="account-reject"),
    path("accounts/<uuid:public_id>/remove/", views.platform_account_remove_view, name="account-remove"),
]
