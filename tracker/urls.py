"""URL configuration. The staff pages and the REST API are added by their own modules."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Lodestone administration"
admin.site.site_title = "Lodestone"
admin.site.index_title = "Portfolio data"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
