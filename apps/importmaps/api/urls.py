from django.urls import path

from apps.importmaps.api import views

urlpatterns = [
    path("", views.ImportTemplateListApi.as_view(), name="api-import-templates"),
    path("preview/", views.ImportTemplatePreviewApi.as_view(), name="api-import-template-preview"),
    path("imports/<uuid:import_id>/", views.ImportTemplateUseApi.as_view(), name="api-import-template-use"),
    path("<uuid:public_id>/", views.ImportTemplateDetailApi.as_view(), name="api-import-template"),
    path(
        "<uuid:public_id>/versions/<int:number>/",
        views.ImportTemplateVersionApi.as_view(),
        name="api-import-template-version",
    ),
    path(
        "<uuid:public_id>/imports/",
        views.ImportTemplateImportApi.as_view(),
        name="api-import-template-import",
    ),
]
