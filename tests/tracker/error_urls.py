"""The project's URLs plus two views that fail, to see what a visitor gets from an error."""

from django.urls import path

from tracker.urls import handler403, handler500, urlpatterns  # noqa: F401 - the handlers are read from here


def _fail(request):
    raise RuntimeError("SELECT password FROM auth_user WHERE id = 1 -- internal detail")


urlpatterns = [path("boom/", _fail), path("api/v1/boom/", _fail), *urlpatterns]
