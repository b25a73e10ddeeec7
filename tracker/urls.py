"""URL configuration: the admin, the staff pages and (later) the API."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Lodestone administration"
admin.site.site_title = "Lodestone"
admin.site.index_title = "Portfolio data"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("portfolio/favicon.svg"), permanent=True))),
    path("", include("portfolio.web.urls")),
]
