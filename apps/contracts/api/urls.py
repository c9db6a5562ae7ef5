from django.urls import path

from apps.contracts.api import views

urlpatterns = [
    path("", views.ContractListApi.as_view(), name="api-contracts"),
    path("templates/", views.ContractTemplateListApi.as_view(), name="api-contract-templates"),
    path("check-pdf/", views.ContractPdfCheckApi.as_view(), name="api-contract-check-pdf"),
    path("<uuid:public_id>/", views.ContractDetailApi.as_view(), name="api-contract"),
    path("<uuid:public_id>/amendments/", views.ContractAmendApi.as_view(), name="api-contract-amend"),
    path("<uuid:public_id>/diff/", views.ContractDiffApi.as_view(), name="api-contract-diff"),
    path("versions/<uuid:public_id>/", views.ContractVersionDetailApi.as_view(), name="api-contract-version"),
    path("versions/<uuid:public_id>/send/", views.ContractVersionSendApi.as_view(), name="api-contract-send"),
    path(
        "versions/<uuid:public_id>/withdraw/",
        views.ContractVersionWithdrawApi.as_view(),
        name="api-contract-withdraw",
    ),
    path(
        "versions/<uuid:public_id>/decline/",
        views.ContractVersionDeclineApi.as_view(),
        name="api-contract-decline",
    ),
    path("versions/<uuid:public_id>/sign/", views.ContractSignApi.as_view(), name="api-contract-sign"),
    path(
        "versions/<uuid:public_id>/document/",
        views.ContractVersionDocumentApi.as_view(),
        name="api-contract-document",
    ),
    path(
        "versions/<uuid:public_id>/fairness/",
        views.ContractVersionFairnessApi.as_view(),
        name="api-contract-fairness",
    ),
    path("versions/<uuid:public_id>/pdf/", views.ContractVersionPdfApi.as_view(), name="api-contract-pdf"),
]
