"""Project middleware."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.urls import reverse


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login, except the views marked ``login_not_required``.

    The admin keeps its own login page and staff check, so its URLs are left to it.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(reverse("admin:index")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
