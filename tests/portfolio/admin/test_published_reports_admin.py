"""Published reports in the admin: listed and shown, never changed or deleted, even by a superuser
posting the forms directly."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


def _stored(report: m.PublishedReport) -> tuple:
    return tuple(m.PublishedReport.objects.values_list("as_of", "book", "html", "content_hash").get(pk=report.pk))


def test_the_change_page_shows_the_report_and_a_posted_change_is_refused(steward_client):
    """The change page shows the report read-only with a link to it as published; posting a change
    to it anyway is refused (403) and the row is as it was."""
    report = f.PublishedReportFactory()
    before = _stored(report)
    url = reverse("admin:portfolio_publishedreport_change", args=[report.pk])
    page = steward_client.get(url).content.decode()
    assert report.content_hash in page
    assert reverse("published-report", args=[report.pk]) in page
    assert 'name="_save"' not in page
    response = steward_client.post(url, {"as_of": "2026-01-01", "book": "all", "html": "<h1>Restated</h1>"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert _stored(report) == before


def test_deleting_in_the_admin_is_refused(steward_client):
    """The delete page and the changelist's delete action refuse a published report (403, and no
    delete action offered); the report is still there."""
    report = f.PublishedReportFactory()
    delete = reverse("admin:portfolio_publishedreport_delete", args=[report.pk])
    assert steward_client.post(delete, {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    changelist = reverse("admin:portfolio_publishedreport_changelist")
    assert "delete_selected" not in steward_client.get(changelist).content.decode()
    steward_client.post(changelist, {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"})
    assert m.PublishedReport.objects.filter(pk=report.pk).exists()
