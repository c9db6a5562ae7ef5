from django.urls import path

from apps.recognition.api import views

# <str:period>: a malformed month reaches the service, which answers 400 with a sentence.
urlpatterns = [
    path("", views.PeriodListApi.as_view(), name="api-periods"),
    path("<uuid:agency>/<str:period>/preview/", views.PeriodPreviewApi.as_view(), name="api-period-preview"),
    path("<uuid:agency>/<str:period>/close/", views.PeriodCloseApi.as_view(), name="api-period-close"),
]
