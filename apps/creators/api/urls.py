from django.urls import path

from apps.creators.api import views

urlpatterns = [
    path("creators/", views.CreatorListApi.as_view(), name="api-creators"),
    path("creators/<uuid:public_id>/", views.CreatorDetailApi.as_view(), name="api-creator"),
    path(
        "creators/<uuid:public_id>/platform-accounts/",
        views.PlatformAccountCreateApi.as_view(),
        name="api-creator-platform-accounts",
    ),
    path(
        "platform-accounts/<uuid:public_id>/",
        views.PlatformAccountDetailApi.as_view(),
        name="api-platform-account",
    ),
    path(
        "platform-accounts/<uuid:public_id>/confirm/",
        views.PlatformAccountConfirmApi.as_view(),
        name="api-platform-account-confirm",
    ),
    path(
        "platform-accounts/<uuid:public_id>/reject/",
        views.PlatformAccountRejectApi.as_view(),
        name="api-platform-account-reject",
    ),
]
