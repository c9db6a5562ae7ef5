from django.urls import path

from apps.evidence import views

app_name = "evidence"
urlpatterns = [
    path("", views.evidence_home, name="home"),
    path("<uuid:public_id>/bundle/", views.evidence_download, name="download"),
    path("builds/<uuid:public_id>/", views.evidence_build, name="build"),
    path("builds/<uuid:public_id>/file/", views.evidence_build_file, name="file"),
]
