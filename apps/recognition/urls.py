from django.urls import path

from apps.recognition import views

app_name = "recognition"
urlpatterns = [
    path("", views.period_list_view, name="periods"),
    # <str:period>: a malformed month reaches the service, which answers 400 with a sentence.
    path("<uuid:agency>/<str:period>/", views.period_detail, name="period"),
    path("<uuid:agency>/<str:period>/close/", views.period_close_view, name="period_close"),
]
