from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("tokens/", views.AccessTokenListCreateApi.as_view(), name="api-tokens"),
    path("tokens/<uuid:public_id>/revoke/", views.AccessTokenRevokeApi.as_view(), name="api-token-revoke"),
]
