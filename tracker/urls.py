"""URL configuration: the admin, the staff pages and (later) the API."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portfolio.web import health

admin.site.site_header = "Lodestone administration"
admin.site.site_title = "Lodestone"
admin.site.index_title = "Portfolio data"


# Swagger UI styles its elements inline: that page alone allows inline styles; scripts stay
# restricted to our own files everywhere. (The API reference is Swagger UI alone: Redoc's bundle
# asks for its vendor's logo from the vendor's site, which a page here never does.)
DOCS_STYLES = csp_update({"style-src": [UNSAFE_INLINE]})


@login_not_required
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's)."""
    return redirect(static("portfolio/favicon.svg"), permanent=True)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("portfolio.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", DOCS_STYLES(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("portfolio.web.urls")),
]

handler403 = "portfolio.security.permission_denied"
handler404 = "portfolio.security.page_not_found"
handler500 = "portfolio.security.server_error"
