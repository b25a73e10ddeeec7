"""Users and roles in the admin: people are managed within the roles, and only a superuser grants
privileges.

The Admin role manages users (their roles, names, e-mail, whether they are active, their
passwords); it cannot grant superuser status, staff status or individual permissions, change a
superuser's account, or change what a role may do: those are a superuser's.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User

#: Fields that grant more than a role does.
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "user_permissions")

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # a superuser's account (and password) is a superuser's to change
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Group)
class RoleAdmin(BaseGroupAdmin):
    """The roles, created by a migration: what each may do is changed by a superuser only."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
