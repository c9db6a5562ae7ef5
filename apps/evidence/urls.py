from django.urls import path

from apps.evidence import views

app_name = "evidence"
urlpatterns = [
    path("", views.evidence_home, name="home"),
    path("<uuid:public_id>/bundle/", views.evidence_download, name="download"),
]
