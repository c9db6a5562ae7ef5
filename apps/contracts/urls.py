from django.urls import path

from apps.contracts import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list, name="list"),
    path("new/", views.contract_new, name="new"),
    path("check-pdf/", views.pdf_check, name="check_pdf"),
    path("<uuid:public_id>/amend/", views.contract_amend, name="amend"),
    path("<uuid:public_id>/diff/", views.contract_diff, name="diff"),
    path("v/<uuid:public_id>/", views.version_detail, name="version"),
    path("v/<uuid:public_id>/edit/", views.version_edit, name="edit"),
    path("v/<uuid:public_id>/preview/", views.version_preview, name="preview"),
    path("v/<uuid:public_id>/rules/", views.version_rules, name="rules"),
    path("v/<uuid:public_id>/rules/preview/", views.version_rules_preview, name="rules_preview"),
    path("v/<uuid:public_id>/send/", views.version_send, name="send"),
    path("v/<uuid:public_id>/withdraw/", views.version_withdraw, name="withdraw"),
    path("v/<uuid:public_id>/decline/", views.version_decline, name="decline"),
    path("v/<uuid:public_id>/sign/", views.version_sign, name="sign"),
    path("v/<uuid:public_id>/pdf/", views.version_pdf, name="pdf"),
]
