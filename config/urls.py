from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.accounts import views as account_views

# Admin login goes through allauth, so its rate limits and MFA apply to staff too.
admin.autodiscover()
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Fenrun staff"

API_DOCS_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "worker-src": [CSP.SELF, "blob:"],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

api_v1: list[URLPattern | URLResolver] = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.agencies.api.urls")),
    path("", include("apps.creators.api.urls")),
    path("splits/", include("apps.splits.api.urls")),
    path("ledger/", include("apps.ledger.api.urls")),
    path("contracts/", include("apps.contracts.api.urls")),
    path("deals/", include("apps.deals.api.urls")),
    # Before income's: /income/templates/ is the import templates' (apps.importmaps).
    path("income/templates/", include("apps.importmaps.api.urls")),
    path("income/", include("apps.income.api.urls")),
    path("periods/", include("apps.recognition.api.urls")),
    path("statements/", include("apps.statements.api.urls")),
    path("payouts/", include("apps.payouts.api.urls")),
    path("invitations/", include("apps.invitations.api.urls")),
    path("disputes/", include("apps.disputes.api.urls")),
    path("reports/", include("apps.reports.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("health/", account_views.health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("me/", include("apps.accounts.urls")),
    path("creators/", include("apps.creators.urls")),
    path("splits/", include("apps.splits.urls")),
    path("contracts/", include("apps.contracts.urls")),
    path("deals/", include("apps.deals.urls")),
    path("income/templates/", include("apps.importmaps.urls")),
    path("income/", include("apps.income.urls")),
    path("periods/", include("apps.recognition.urls")),
    path("statements/", include("apps.statements.urls")),
    path("payouts/", include("apps.payouts.urls")),
    path("agency/", include("apps.agencies.urls")),
    path("invitations/", include("apps.invitations.urls")),
    path("disputes/", include("apps.disputes.urls")),
    path("reports/", include("apps.reports.urls")),
    path("evidence/", include("apps.evidence.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The schema answers at /api/schema/ too, as documented; the docs page renders it.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs pages are third-party apps that style (and ReDoc scripts) inline: they alone get
    # 'unsafe-inline', still same-origin only (the sidecar serves their assets, no CDN).
    path(
        "api/docs/",
        csp_override(API_DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        csp_override(API_DOCS_CSP)(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
]

# No route serves MEDIA_ROOT, not even under DEBUG: uploaded statements, receipts and contract PDFs
# are private and leave only through views that check tenancy, as attachments (an uploaded
# "x.html" must never render as a page of this origin).

# A path no route matches: under /api/ a problem document (apps/common/views.not_found).
handler404 = "apps.common.views.not_found"
