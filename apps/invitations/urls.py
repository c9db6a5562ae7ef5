from django.urls import path

from apps.invitations import views

app_name = "invitations"

urlpatterns = [
    path("", views.my_invitations, name="mine"),
    path("<uuid:public_id>/", views.my_invitation, name="mine-detail"),
    path("<uuid:public_id>/accept/", views.my_invitation_accept, name="mine-accept"),
    path("<uuid:public_id>/decline/", views.my_invitation_decline, name="mine-decline"),
    # The link's token: secrets.token_urlsafe, checked by the selector (anything else is a 404).
    path("t/<str:token>/", views.invitation_open, name="open"),
    path("t/<str:token>/accept/", views.invitation_accept_view, name="accept"),
    path("t/<str:token>/decline/", views.invitation_decline_view, name="decline"),
]
