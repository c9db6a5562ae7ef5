from django.urls import path

from apps.disputes.api import views

urlpatterns = [
    path("", views.DisputeListApi.as_view(), name="api-disputes"),
    path("files/<uuid:public_id>/", views.DisputeAttachmentApi.as_view(), name="api-dispute-file"),
    path("<uuid:public_id>/", views.DisputeDetailApi.as_view(), name="api-dispute"),
    path("<uuid:public_id>/messages/", views.DisputeMessageApi.as_view(), name="api-dispute-messages"),
    path("<uuid:public_id>/resolve/", views.DisputeResolveApi.as_view(), name="api-dispute-resolve"),
    path("<uuid:public_id>/reject/", views.DisputeRejectApi.as_view(), name="api-dispute-reject"),
]
