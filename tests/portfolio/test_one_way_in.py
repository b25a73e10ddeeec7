"""Every write to the portfolio goes through its service: the admin and the API have no default save
or delete left, deletes and derived changes leave an audit trail naming who and why, a steward's
price updates its listing as the provider's refresh does, and the demo loader opens gates."""

from __future__ import annotations

import datetime as dt
import inspect
from http import HTTPStatus

import pytest
import yaml
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from rest_framework import mixins

from portfolio import models as m
from portfolio.api.resources import VIEWSETS
from portfolio.services.demo_data import DEMO_DATA_FILE, demo_data_load
from portfolio.services.milestones import milestones_refresh
from portfolio.services.records import record_delete
from tests import factories as f

pytestmark = pytest.mark.django_db

#: The admin methods that write a record, and the permission that makes each reachable.
WRITES = {
    "save_model": ("has_add_permission", "has_change_permission"),
    "save_formset": ("has_add_permission", "has_change_permission"),
    "delete_model": ("has_delete_permission",),
    "delete_queryset": ("has_delete_permission",),
}


def _ours(method) -> bool:
    """Whether a method is written in this project (a service call), not inherited from Django or a
    library (whose save and delete write the row directly, without the service's rules)."""
    module = inspect.getmodule(method)
    return module is not None and module.__name__.startswith("portfolio.")


def _allowed(model_admin, permission: str, request) -> bool:
    check = getattr(model_admin, permission)
    return check(request) if permission == "has_add_permission" else check(request, None)


def test_no_admin_of_a_portfolio_record_saves_or_deletes_around_its_service(steward):
    """Walks the admin registry: every portfolio admin a superuser may write through saves and
    deletes with the project's own methods (the records service), or does not offer that write.
    Accounts, schedules and login records (Django's, Celery beat's, axes' and knox's admins) are
    not portfolio records and are outside this rule."""
    request = RequestFactory().get("/admin/")
    request.user = steward
    bypassing = []
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "portfolio":
            continue
        checked += 1
        for name, permissions in WRITES.items():
            if name == "save_formset" and not model_admin.inlines:
                continue
            reachable = any(_allowed(model_admin, permission, request) for permission in permissions)
            if reachable and not _ours(getattr(model_admin, name)):
                bypassing.append(f"{type(model_admin).__name__}.{name}")
    assert checked == 43  # every portfolio model has an admin (test_admin checks that none is missing)
    assert bypassing == []


def test_the_walk_finds_a_default_save():
    """The rule above fails on an admin left with Django's own save and delete."""
    request = RequestFactory().get("/admin/")
    request.user = f.UserFactory(is_staff=True, is_superuser=True)
    plain = admin.ModelAdmin(m.Commodity, admin.site)
    assert _allowed(plain, "has_change_permission", request)
    assert not _ours(plain.save_model)
    assert not _ours(plain.delete_queryset)


def test_every_api_write_goes_through_a_service():
    """Walks the API's viewsets: each create or update is performed by the project's own method
    (the records service), and none deletes (rows are not deleted through the API)."""
    performers = {
        mixins.CreateModelMixin: "perform_create",
        mixins.UpdateModelMixin: "perform_update",
        mixins.DestroyModelMixin: "perform_destroy",
    }
    writable = 0
    for prefix, viewset in VIEWSETS.items():
        assert not issubclass(viewset, mixins.DestroyModelMixin), prefix
        for mixin, performer in performers.items():
            if issubclass(viewset, mixin):
                writable += 1
                assert _ours(getattr(viewset, performer)), f"{prefix}: {performer}"
    assert writable == 2 * 14  # fourteen writable resources, each created and changed


def test_a_delete_records_who_and_why_for_the_row_and_what_goes_with_it(steward):
    """Deleting an agency deletes its aliases too; each deletion leaves a history row with the
    steward and the reason, so the audit trail shows what was removed."""
    agency = f.AgencyFactory()
    alias = m.AgencyAlias.objects.create(agency=agency, alias="Department of War")
    agency_id, alias_id = agency.pk, alias.pk
    record_delete(agency, user=steward, reason="Entered twice")
    assert not m.Agency.objects.filter(pk=agency_id).exists()
    assert not m.AgencyAlias.objects.filter(pk=alias_id).exists()
    for history in (
        m.Agency.history.get(id=agency_id, history_type="-"),
        m.AgencyAlias.history.get(id=alias_id, history_type="-"),
    ):
        assert (history.history_user, history.history_change_reason) == (steward, "Entered twice")


def test_an_instrument_with_cash_flows_is_not_deleted(steward):
    """The cash flows of an instrument are its cost: the instrument cannot be deleted while it has
    any, and the refusal says which."""
    flow = f.CashFlowFactory()
    with pytest.raises(ValidationError, match=r"cannot be deleted while other records refer to it \(cash flow: "):
        record_delete(flow.position, user=steward, reason="Entered twice")
    assert m.Position.objects.filter(pk=flow.position_id).exists()


def test_a_record_others_need_is_not_deleted_and_the_message_names_them(steward):
    """A company with deals cannot go: the refusal is a ValidationError naming the deal, and nothing
    is deleted."""
    deal = f.DealFactory()
    with pytest.raises(ValidationError) as excinfo:
        record_delete(deal.company, user=steward, reason="Tidying")
    assert "cannot be deleted while other records refer to it" in excinfo.value.messages[0]
    assert str(deal) in excinfo.value.messages[0]
    assert m.Company.objects.filter(pk=deal.company_id).exists()
    assert not m.Company.history.filter(history_type="-").exists()


def test_deleting_a_gating_milestone_says_so_in_the_gated_rows_history(steward):
    """An instrument whose gate milestone is deleted loses its gate; its history says why and who."""
    milestone = f.MilestoneFactory()
    position = f.PositionFactory(deal__company=milestone.project.company, gate_milestone=milestone)
    record_delete(milestone, user=steward, reason="Duplicate milestone")
    position.refresh_from_db()
    assert position.gate_milestone is None
    latest = position.history.first()
    assert latest.history_user == steward
    assert latest.history_change_reason == "Gate removed: its milestone was deleted (Duplicate milestone)"


def test_the_admin_delete_action_goes_through_the_service(steward_client, steward):
    """The changelist's "delete selected" action deletes with a history row naming the steward."""
    flows = [f.CashFlowFactory(), f.CashFlowFactory()]
    response = steward_client.post(
        reverse("admin:portfolio_cashflow_changelist"),
        {"action": "delete_selected", "_selected_action": [flow.pk for flow in flows], "post": "yes"},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert not m.CashFlow.objects.filter(pk__in=[flow.pk for flow in flows]).exists()
    deleted = m.CashFlow.history.filter(history_type="-")
    assert sorted(deleted.values_list("id", flat=True)) == sorted(flow.pk for flow in flows)
    assert set(deleted.values_list("history_user", "history_change_reason")) == {(steward.pk, "Deleted in the admin")}


def test_a_price_entered_in_the_admin_updates_its_listing_as_the_refresh_does(steward_client, steward):
    """A stale listing given today's close by a steward becomes current, with the date of that
    close; the price has a history row naming the steward; deleting it makes the listing stale again."""
    listing = f.ListingFactory()
    m.Listing.objects.filter(pk=listing.pk).update(price_status=m.PriceStatus.STALE, last_price_on=None)
    form = steward_client.get(reverse("admin:portfolio_securityprice_add")).context["adminform"].form
    assert form["source"].value() == "manual"
    today = dt.date.today()
    response = steward_client.post(
        reverse("admin:portfolio_securityprice_add"),
        {"listing": listing.pk, "on": today.isoformat(), "source": "manual", "close": "4.25"},
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    listing.refresh_from_db()
    assert (listing.price_status, listing.last_price_on) == (m.PriceStatus.OK, today)
    price = m.SecurityPrice.objects.get(listing=listing)
    assert price.history.get().history_user == steward
    record_delete(price, user=steward, reason="Wrong close")
    listing.refresh_from_db()
    assert (listing.price_status, listing.last_price_on) == (m.PriceStatus.STALE, None)


@pytest.mark.parametrize(
    "model", [m.MilestoneRevision, m.MilestoneStatusChange, m.Valuation, m.RefreshRun, m.PublishedReport]
)
def test_audit_trails_and_job_output_are_read_only_in_the_admin(steward, model):
    """Revisions, status changes, valuations, runs and published reports are written by their services
    alone: the admin offers no add, change or delete for them, even to a superuser."""
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = steward
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, None)
    assert not model_admin.has_delete_permission(request, None)


def test_derived_statuses_and_long_stop_flags_are_recorded_in_the_history(analyst):
    """The milestone job's status changes and long-stop flags are written with a history row each,
    naming the user who asked for the refresh and the reason, as a steward's edit is."""
    milestone = f.MilestoneFactory(
        forecast_text="2025",
        forecast_start=dt.date(2025, 1, 1),
        forecast_end=dt.date(2025, 12, 31),
        status=m.MilestoneStatus.ON_TRACK,
    )
    deal = f.DealFactory(status="binding_loi", closed_on=None, long_stop_on=dt.date(2026, 3, 31))
    milestones_refresh(as_of=dt.date(2026, 6, 1), user=analyst)
    milestone.refresh_from_db()
    deal.refresh_from_db()
    assert milestone.status == m.MilestoneStatus.LATE
    assert deal.long_stop_passed
    status_row = milestone.history.first()
    assert (status_row.status, status_row.history_user, status_row.history_change_reason) == (
        m.MilestoneStatus.LATE,
        analyst,
        "Status derived on 2026-06-01",
    )
    flag_row = deal.history.first()
    assert flag_row.long_stop_passed
    assert flag_row.history_change_reason == "Long-stop date passed before closing (on 2026-06-01)"


def test_the_demo_loader_opens_the_gates_of_achieved_milestones(tmp_path):
    """Loaded through the records service, an achieved project milestone opens the instruments it
    gates from its achievement date (the demo's Ambler road, marked built here)."""
    document = yaml.safe_load(DEMO_DATA_FILE.read_text(encoding="utf-8"))
    road = next(
        milestone
        for company in document["companies"]
        for project in company.get("projects", [])
        for milestone in project.get("milestones", [])
        if milestone["title"] == "Ambler Access Road construction complete"
    )
    road["achieved_on"] = "2026-09-30"
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    demo_data_load(path=path)
    gated = m.Position.objects.filter(gate_milestone__title="Ambler Access Road construction complete")
    assert gated.count() == 2
    assert set(gated.values_list("condition_met_on", flat=True)) == {dt.date(2026, 9, 30)}
    assert m.Milestone.objects.get(title=road["title"]).status == m.MilestoneStatus.ACHIEVED
