"""Roles that hold in the admin: the Admin role manages people within the roles and never grants
privileges (superuser status, staff status, individual permissions) or changes a role."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.urls import NoReverseMatch, reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PRIVILEGE_INPUTS = re.compile(r'name="(is_superuser|is_staff|user_permissions|permissions)"')


@pytest.fixture
def role_admin_client(client):
    """A member of the Admin role, with staff status (as a superuser set it) to use the admin."""
    user = UserFactory(username="role-admin", is_staff=True)
    user.groups.add(Group.objects.get(name="Admin"))
    client.force_login(user)
    client.user = user
    return client


def _form_pages(model, obj):
    meta = model._meta
    names = [(f"admin:{meta.app_label}_{meta.model_name}_add", [])]
    if obj is not None:
        names.append((f"admin:{meta.app_label}_{meta.model_name}_change", [obj.pk]))
    for name, args in names:
        try:
            yield reverse(name, args=args)
        except NoReverseMatch:
            continue


def test_no_admin_form_offers_the_admin_role_a_privilege(role_admin_client):
    """Every registered admin's add and change forms, as the Admin role sees them: none has an
    input for superuser status, staff status or permissions (the user form shows them read-only)."""
    someone = UserFactory(username="someone")
    for model in admin.site._registry:
        obj = someone if model is User else Group.objects.first() if model is Group else model.objects.first()
        for url in _form_pages(model, obj):
            page = role_admin_client.get(url)
            if page.status_code != HTTPStatus.OK:
                continue
            assert not PRIVILEGE_INPUTS.search(page.content.decode()), url


def test_the_admin_role_cannot_make_itself_superuser(role_admin_client):
    """The Admin role posting superuser, staff and permission fields for itself has its other changes
    saved and the privileges ignored."""
    user = role_admin_client.user
    url = reverse("admin:auth_user_change", args=[user.pk])
    page = role_admin_client.get(url)
    assert page.status_code == HTTPStatus.OK
    data = {
        "username": user.username, "email": "x@example.org", "is_active": "on", "is_superuser": "on",
        "is_staff": "on", "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [1, 2, 3], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    }  # fmt: skip
    response = role_admin_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND  # the allowed changes are saved ...
    user.refresh_from_db()
    assert user.email == "x@example.org"
    assert not user.is_superuser  # ... the privileges are not
    assert user.user_permissions.count() == 0


def test_the_admin_role_cannot_touch_a_superuser_or_change_a_role(role_admin_client):
    """The Admin role can neither edit a superuser nor set their password, nor change a role's
    permissions."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    password_page = role_admin_client.get(reverse("admin:auth_user_password_change", args=[root.pk]))
    assert password_page.status_code == HTTPStatus.FORBIDDEN
    response = role_admin_client.post(reverse("admin:auth_user_change", args=[root.pk]), {"username": "taken"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    root.refresh_from_db()
    assert root.username == "root"
    viewer = Group.objects.get(name="Viewer")
    before = set(viewer.permissions.values_list("pk", flat=True))
    response = role_admin_client.post(reverse("admin:auth_group_change", args=[viewer.pk]), {"name": "Viewer"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert set(viewer.permissions.values_list("pk", flat=True)) == before


def test_a_superuser_still_grants_privileges(client):
    """A superuser still sees the privilege fields on a user's form: the restriction is the Admin role's
    alone."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    page = client.get(reverse("admin:auth_user_change", args=[UserFactory(username="analyst2").pk]))
    assert PRIVILEGE_INPUTS.search(page.content.decode())
