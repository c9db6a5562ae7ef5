from django.urls import path

from apps.agencies import views

app_name = "agencies"

urlpatterns = [
    path("", views.console, name="console"),
    path("<uuid:agency>/creators/", views.roster, name="roster"),
    path("<uuid:agency>/creators/invite/", views.creator_invite, name="invite"),
    path("<uuid:agency>/creators/<uuid:creator>/", views.creator_detail, name="creator"),
    path(
        "<uuid:agency>/creators/<uuid:creator>/end/", views.representation_end_view, name="representation-end"
    ),
    path("<uuid:agency>/members/", views.members, name="members"),
    path(
        "<uuid:agency>/invitations/<uuid:invitation>/revoke/",
        views.invitation_revoke_view,
        name="invitation-revoke",
    ),
]
