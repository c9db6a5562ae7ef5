from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("tokens/", views.access_tokens, name="access-tokens"),
    path("tokens/<str:public_id>/revoke/", views.access_token_revoke_view, name="access-token-revoke"),
]
