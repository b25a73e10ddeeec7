from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .analytics import ProjectProgressView, SummaryView, ValueSeriesView
from .auth import LogoutView, TokenView
from .jobs import RefreshRunViewSet
from .resources import VIEWSETS

app_name = "api"

router = DefaultRouter()
for prefix, viewset in VIEWSETS.items():
    router.register(prefix, viewset)
router.register("refresh-runs", RefreshRunViewSet)

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("analytics/summary/", SummaryView.as_view(), name="summary"),
    path("analytics/value-series/", ValueSeriesView.as_view(), name="value-series"),
    path("analytics/project-progress/", ProjectProgressView.as_view(), name="project-progress"),
    path("", include(router.urls)),
]
