"""Who may do what: anonymous, viewer, analyst and admin x every resource x every method."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio.api.resources import RESOURCES, WRITABLE
from tests import factories as f
from tests.portfolio.api.test_api import _book

pytestmark = pytest.mark.django_db
ROLES = [None, "Viewer", "Analyst", "Admin"]
METHODS = ["list", "retrieve", "create", "update", "delete"]


def _client(role):
    api = APIClient()
    if role:
        user = f.UserFactory(username=role.lower())
        user.groups.add(Group.objects.get(name=role))
        _, token = AuthToken.objects.create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _expected(role, resource, method) -> set[int]:
    if role is None:
        return {HTTPStatus.UNAUTHORIZED}
    if method in ("list", "retrieve"):
        return {HTTPStatus.OK}
    if role == "Viewer":
        return {HTTPStatus.FORBIDDEN}
    writable = resource in WRITABLE
    if role == "Analyst":
        if method == "delete" or not writable:
            return {HTTPStatus.FORBIDDEN}  # analysts neither delete nor write reference data
        return {HTTPStatus.BAD_REQUEST} if method == "create" else {HTTPStatus.OK}
    # Admin: every permission, but nothing is deleted and reference data is read-only here.
    if method == "delete" or not writable:
        return {HTTPStatus.METHOD_NOT_ALLOWED}
    return {HTTPStatus.BAD_REQUEST} if method == "create" else {HTTPStatus.OK}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("resource", list(RESOURCES))
def test_permission_matrix(role, resource):
    """Each role gets exactly its rights on each resource: anonymous 401, viewers read only, analysts
    write what is writable, admins too, nobody deletes, and nothing is deleted."""
    _book()
    api = _client(role)
    model = RESOURCES[resource].model
    pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    calls = {
        "list": lambda: api.get(f"/api/v1/{resource}/"),
        "retrieve": lambda: api.get(f"/api/v1/{resource}/{pk}/"),
        "create": lambda: api.post(f"/api/v1/{resource}/", {}, format="json"),  # empty: 400 when allowed
        "update": lambda: api.patch(f"/api/v1/{resource}/{pk}/", {}, format="json"),  # no change: 200 when allowed
        "delete": lambda: api.delete(f"/api/v1/{resource}/{pk}/"),
    }
    for method in METHODS:
        status = calls[method]().status_code
        assert status in _expected(role, resource, method), f"{role} {method} {resource}: {status}"
    assert model._default_manager.filter(pk=pk).exists()  # nothing was deleted
