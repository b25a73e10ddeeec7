"""API permissions: the model permissions of the user's role, reads included."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class HasARole(BasePermission):
    """A logged-in user with a role (one that may at least read the portfolio): the API's schema
    and its documentation pages, like the API, are not for users without one."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("portfolio.view_deal"))


class RolePermission(DjangoModelPermissions):
    """Read needs the view permission of the model, writes the add/change/delete ones.

    DRF's DjangoModelPermissions lets any logged-in user read; a user without a role must not.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class CanRunRefresh(RolePermission):
    """Starting a refresh needs the run_refresh permission (analysts and admins)."""

    def has_permission(self, request, view):
        if request.method == "POST":
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm("portfolio.run_refresh"))
        return super().has_permission(request, view)
