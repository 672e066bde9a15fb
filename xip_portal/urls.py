from allauth.account.decorators import secure_admin_login
from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api, views

# The admin logs in through allauth, so two-factor applies to it as to every staff page.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Exchange OS portal administration"

# Swagger UI sets inline styles; only its page may (its scripts still come from this site).
api_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api_schema")
)

api_v1: list[URLPattern | URLResolver] = [
    path("me/", api.MeApi.as_view(), name="api_me"),
    path("institutions/", api.InstitutionListApi.as_view(), name="api_institutions"),
    path(
        "institutions/<slug:slug>/members/",
        api.InstitutionMemberApi.as_view(),
        name="api_institution_members",
    ),
    path("", include("governance.api_urls")),
    path("", include("markets.api_urls")),
    path("", include("trading.api_urls")),
]

# Django tries these in order and, for every include whose routes do not match, builds the
# list of what it tried (for the 404 page): a request pays for every include listed before
# its own route. No two routes here match the same path, so the order changes no URL: the
# hot routes come first (the OKX API the bots call, the market pages and the portfolio).
urlpatterns = [
    path("api/v5/", include("trading.okx.urls")),
    path("", include("markets.urls")),
    path("", include("trading.urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Before allauth's own routes, so that set-up returns the staff user to the page they asked for.
    path("accounts/2fa/totp/activate/", views.TwoFactorActivateView.as_view()),
    path("accounts/", include("allauth.urls")),
    path("account/api-token/", views.api_token, name="api_token"),
    path("account/api-token/change/", views.api_token_action, name="api_token_action"),
    path("institutions/", views.institution_list, name="institution_list"),
    path("institutions/new/", views.institution_new, name="institution_new"),
    path("institutions/<slug:slug>/", views.institution_detail, name="institution_detail"),
    path("staff/", views.staff_dashboard, name="staff_dashboard"),
    path("", include("governance.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", api_docs, name="api_docs"),
]

handler400 = "xip_portal.views.bad_request"
handler403 = "xip_portal.views.permission_denied"
handler404 = "xip_portal.views.page_not_found"
handler500 = "xip_portal.views.server_error"
