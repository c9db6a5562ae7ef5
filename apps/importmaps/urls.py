from django.urls import path

from apps.importmaps import views

app_name = "importmaps"
urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_new, name="new"),
    path("<uuid:public_id>/", views.template_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.template_edit, name="edit"),
    path("<uuid:public_id>/import/", views.template_import, name="import"),
    path("<uuid:public_id>/archive/", views.template_archive, name="archive"),
]
