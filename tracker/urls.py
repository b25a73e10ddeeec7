"""URL configuration: the admin, the staff pages and (later) the API."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Lodestone administration"
admin.site.site_title = "Lodestone"
admin.site.index_title = "Portfolio data"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("portfolio.web.urls")),
]
