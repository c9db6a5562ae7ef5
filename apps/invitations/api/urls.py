from django.urls import path

from apps.invitations.api import views

urlpatterns = [
    path("", views.InvitationListApi.as_view(), name="api-invitations"),
    path("open/", views.InvitationOpenApi.as_view(), name="api-invitation-open"),
    path("accept/", views.InvitationAcceptApi.as_view(), name="api-invitation-accept"),
    path("decline/", views.InvitationDeclineApi.as_view(), name="api-invitation-decline"),
    path("<uuid:public_id>/", views.InvitationDetailApi.as_view(), name="api-invitation"),
    path("<uuid:public_id>/revoke/", views.InvitationRevokeApi.as_view(), name="api-invitation-revoke"),
]
