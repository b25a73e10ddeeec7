from django.urls import include, path
from rest_framework.routers import APIRootView, DefaultRouter

from .analytics import ProjectProgressView, SummaryView, ValueSeriesView
from .auth import LogoutView, TokenView
from .bridge import BridgeView
from .changes import ChangesViewSet
from .jobs import RefreshRunViewSet
from .query import CheckedQuery
from .reports import PublishedReportViewSet
from .resources import VIEWSETS
from .scenarios import ScenarioRunViewSet, ScenarioViewSet

app_name = "api"


class RootView(CheckedQuery, APIRootView):
    """The API's root: the address of each list. It takes no query parameters."""


class Router(DefaultRouter):
    APIRootView = RootView


router = Router()
for prefix, viewset in VIEWSETS.items():
    router.register(prefix, viewset)
router.register("refresh-runs", RefreshRunViewSet)
router.register("reports", PublishedReportViewSet)
router.register("scenarios", ScenarioViewSet)
router.register("scenario-runs", ScenarioRunViewSet)

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("analytics/summary/", SummaryView.as_view(), name="summary"),
    path("analytics/value-series/", ValueSeriesView.as_view(), name="value-series"),
    path("analytics/bridge/", BridgeView.as_view(), name="bridge"),
    path("analytics/project-progress/", ProjectProgressView.as_view(), name="project-progress"),
    path("analytics/changes/", ChangesViewSet.as_view({"get": "list"}), name="changes"),
    path("", include(router.urls)),
]
