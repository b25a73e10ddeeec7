from django.urls import include, path
from rest_framework.routers import DefaultRouter

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
    path("", include(router.urls)),
]
