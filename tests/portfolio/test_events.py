"""The feed of events between two dates: each kind from real rows (written at known times through
the services, or made by the factories), the filters, and a number of queries that does not grow
with the events. The period is March 2026 throughout."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from portfolio import models as m
from portfolio.events import EDITED_MODELS, KINDS, events_between
from portfolio.services.milestones import milestones_refresh
from portfolio.services.records import record_save
from tests import factories as f

pytestmark = pytest.mark.django_db
D = dt.date
START, END = D(2026, 3, 1), D(2026, 3, 31)
#: One query for each reader (the deal history, long-stop dates, revisions, achievements, milestones
#: gone late, filings, refresh runs) and one for the history of each other model stewards edit.
QUERIES = 7 + len(EDITED_MODELS)


def _at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)


def _feed(*kinds: str, **filters) -> list:
    return events_between(START, END, kinds=kinds or None, **filters)


def _open_deal(**kwargs) -> m.Deal:
    """A binding letter of intent signed 2025-10-06, not closed, recorded on 2026-02-01."""
    defaults = {
        "status": m.DealStatus.BINDING_LOI,
        "announced_on": D(2025, 10, 6),
        "signed_on": D(2025, 10, 6),
        "closed_on": None,
    }
    with freeze_time("2026-02-01 09:00:00"):
        return f.DealFactory.create(**{**defaults, **kwargs})


# --- Each kind --------------------------------------------------------------------------------------


def test_a_deal_status_change_says_from_what_to_what_who_and_why(steward):
    """A steward moves a binding LOI to a definitive agreement on 2026-03-10 with a reason: one event
    that day with both statuses by their labels, the steward and the reason; it is not reported a
    second time as an edit."""
    deal = _open_deal()
    with freeze_time("2026-03-10 12:00:00"):
        deal.status = m.DealStatus.DEFINITIVE
        record_save(deal, user=steward, reason="8-K of 2026-03-09")
    (event,) = _feed("deal_status")
    assert (event.on, event.kind, event.kind_label) == (D(2026, 3, 10), "deal_status", "Deal status changed")
    assert event.title == "Status: Binding LOI (conditional) to Definitive agreement"
    assert (event.actor, event.reason) == ("steward", "8-K of 2026-03-09")
    assert event.detail["status"] == {"old": "binding_loi", "new": "definitive"}
    assert (event.deal, event.deal_title, event.company_id, event.agency) == (
        deal.reference,
        deal.title,
        deal.company_id,
        deal.agency.short_name,
    )
    assert _feed("steward_edit") == []


def test_a_status_change_by_the_loader_is_listed_without_a_user():
    """A status change saved without a user (the demo loader, an import's service call) is still a
    status change, with no one named."""
    deal = _open_deal()
    with freeze_time("2026-03-11 08:00:00"):
        deal.status = m.DealStatus.TERMINATED
        record_save(deal, user=None, reason="Loaded")
    (event,) = _feed()
    assert (event.kind, event.actor, event.on) == ("deal_status", "", D(2026, 3, 11))


def test_a_long_stop_date_passed_without_closing():
    """An open LOI whose long-stop date is 2026-03-15 lapsed: one event dated 2026-03-15, counted as
    lapsed from 2026-03-16. A deal that closed on 2026-03-10, before its long-stop of 2026-03-20, and
    one whose long-stop is 2026-04-05, after the period, are not listed."""
    lapsed = _open_deal(long_stop_on=D(2026, 3, 15))
    _open_deal(status=m.DealStatus.CLOSED, closed_on=D(2026, 3, 10), long_stop_on=D(2026, 3, 20))
    _open_deal(long_stop_on=D(2026, 4, 5))
    (event,) = _feed("long_stop_passed")
    assert (event.on, event.deal) == (D(2026, 3, 15), lapsed.reference)
    assert event.title == "Long-stop date 2026-03-15 passed without closing"
    assert event.summary == "Status Binding LOI (conditional); counted as lapsed from 2026-03-16."
    assert event.at is None


def test_a_milestone_revision_gives_both_windows_and_the_days_slipped(steward):
    """A milestone first forecast "2026-06-30" on 2026-02-01 (its baseline: no revision event), then
    re-forecast "2026-09-30" on 2026-03-12: one revision event, the window moved 92 days later (July 31 +
    August 31 + September 30), 92 days after the baseline by the slip measure."""
    project = f.ProjectFactory()
    with freeze_time("2026-02-01 09:00:00"):
        milestone = record_save(
            m.Milestone(
                project=project, kind=m.MilestoneKind.COMMISSIONING, title="Commissioning", forecast_text="2026-06-30"
            ),
            user=steward,
            reason="First plan",
        )
    with freeze_time("2026-03-12 15:30:00"):
        milestone.forecast_text = "2026-09-30"
        record_save(milestone, user=steward, reason="Q4 update")
    (event,) = events_between(D(2026, 2, 1), END, kinds=["milestone_revised"])
    assert (event.on, event.at) == (D(2026, 3, 12), _at("2026-03-12 15:30:00"))
    assert event.title == "Commissioning: forecast moved 92 days later"
    assert event.summary == "From 2026-06-30 to 2026-09-30; 92 days after the baseline."
    assert (event.detail["slip_days"], event.detail["moved_days"]) == (92, 92)
    assert event.detail["old"] == {"text": "2026-06-30", "start": "2026-06-30", "end": "2026-06-30"}
    assert event.detail["new"] == {"text": "2026-09-30", "start": "2026-09-30", "end": "2026-09-30"}
    assert (event.actor, event.reason, event.project_id, event.company_id) == (
        "steward",
        "Q4 update",
        project.pk,
        project.company_id,
    )


def test_a_revision_is_dated_by_its_source():
    """A revision recorded on 2026-04-02 from a source published on 2026-03-20 is an event of
    2026-03-20; its window (ends 2027-12-31) against the baseline's (ends 2027-06-30) moved 184 days
    later (July 31 + August 31 + September 30 + October 31 + November 30 + December 31)."""
    milestone = f.MilestoneFactory.create(
        baseline_start=D(2027, 1, 1), baseline_end=D(2027, 6, 30), baseline_text="H1 2027"
    )
    with freeze_time("2026-04-02 10:00:00"):
        f.MilestoneRevisionFactory(
            milestone=milestone,
            forecast_text="2027",
            forecast_start=D(2027, 1, 1),
            forecast_end=D(2027, 12, 31),
            source_published_on=D(2026, 3, 20),
        )
    (event,) = _feed("milestone_revised")
    assert event.on == D(2026, 3, 20)
    assert event.summary == "From H1 2027 (ends 2027-06-30) to 2027 (ends 2027-12-31); 184 days after the baseline."
    assert event.detail["moved_days"] == 184


def test_a_milestone_achieved_in_the_period_with_its_slip():
    """A milestone with a baseline ending 2026-02-28, achieved on 2026-03-20: 20 days after its
    baseline (the slip measure counts the achievement date)."""
    milestone = f.MilestoneFactory.create(
        title="First concentrate",
        baseline_start=D(2026, 1, 1),
        baseline_end=D(2026, 2, 28),
        achieved_on=D(2026, 3, 20),
        status=m.MilestoneStatus.ACHIEVED,
    )
    f.MilestoneFactory.create(achieved_on=D(2026, 4, 1), status=m.MilestoneStatus.ACHIEVED)  # after the period
    (event,) = _feed("milestone_achieved")
    assert (event.on, event.title) == (D(2026, 3, 20), "First concentrate achieved")
    assert event.summary == "20 days after its baseline (2026-02-28)."
    assert (event.detail["slip_days"], event.project_id) == (20, milestone.project_id)


def test_a_milestone_gone_late_from_the_daily_job(analyst):
    """The milestone job of 2026-03-05, asked for by the analyst, finds a window that ended on
    2026-03-01: the milestone went late that day, 4 days past its window; the status it derived is
    not a steward's edit, although the job ran in the analyst's name."""
    milestone = f.MilestoneFactory.create(
        title="Permit", forecast_start=D(2026, 2, 1), forecast_end=D(2026, 3, 1), status=m.MilestoneStatus.AT_RISK
    )
    with freeze_time("2026-03-05 06:00:00"):
        milestones_refresh(as_of=D(2026, 3, 5), user=analyst)
    (event,) = _feed("milestone_late")
    assert (event.on, event.title, event.actor) == (D(2026, 3, 5), "Permit gone late", "analyst")
    assert event.summary == "Its forecast window ended on 2026-03-01."
    assert event.detail["status"] == {"old": "at_risk", "new": "late"}
    assert (event.detail["overdue_days"], event.detail["milestone"]) == (4, milestone.pk)
    assert _feed("steward_edit") == []


def test_filings_recorded_and_reviewed(steward):
    """A filing of 2026-03-03 reviewed on 2026-03-04 gives two events; one filed on 2026-01-10 but
    recorded on 2026-03-08 is an event of the day it was recorded; one filed on 2026-01-10 and recorded
    on 2026-02-01 is not in March."""
    company = f.CompanyFactory()
    with freeze_time("2026-03-03 22:00:00"):
        filing = f.FilingEventFactory.create(
            company=company, form="8-K", filed_on=D(2026, 3, 3), description="Loan closed"
        )
    m.FilingEvent.objects.filter(pk=filing.pk).update(
        review_status=m.FilingEvent.Review.REVIEWED, reviewed_by=steward, reviewed_at=_at("2026-03-04 10:00:00")
    )
    with freeze_time("2026-03-08 09:00:00"):
        late = f.FilingEventFactory.create(company=company, form="10-K", filed_on=D(2026, 1, 10))
    with freeze_time("2026-02-01 09:00:00"):
        f.FilingEventFactory.create(company=company, filed_on=D(2026, 1, 10))
    recorded, reviewed = _feed("filing_recorded"), _feed("filing_reviewed")
    assert [(e.on, e.title, e.detail["filing"]) for e in recorded] == [
        (D(2026, 3, 8), "10-K filed on 2026-01-10", late.pk),
        (D(2026, 3, 3), "8-K filed on 2026-03-03", filing.pk),
    ]
    assert recorded[1].summary == "Loan closed"
    (event,) = reviewed
    assert (event.on, event.title, event.summary, event.actor) == (
        D(2026, 3, 4),
        "8-K of 2026-03-03 reviewed",
        "Reviewed.",
        "steward",
    )
    assert (event.company_id, event.deal) == (company.pk, None)


def test_a_refresh_run_with_the_value_change_it_caused(analyst):
    """A run that valued 2026-03-06 and wrote a snapshot of 1,250,000.00 after one of 1,200,000.00
    for 2026-03-05 moved the value by 50,000.00; a failed run has no snapshot and so no change; a run
    finished in April is not listed."""
    earlier = f.RefreshRunFactory.create(
        as_of=D(2026, 3, 5), started_at=_at("2026-03-05 18:00"), finished_at=_at("2026-03-05 18:05")
    )
    m.PortfolioSnapshot.objects.create(as_of=D(2026, 3, 5), value_usd=Decimal("1200000.00"), refresh_run=earlier)
    run = f.RefreshRunFactory.create(
        as_of=D(2026, 3, 6),
        requested_by=analyst,
        started_at=_at("2026-03-06 18:00"),
        finished_at=_at("2026-03-06 18:05"),
        errors=[{"key": "x", "message": "no price"}],
    )
    m.PortfolioSnapshot.objects.create(as_of=D(2026, 3, 6), value_usd=Decimal("1250000.00"), refresh_run=run)
    f.RefreshRunFactory.create(
        status=m.RefreshRun.Status.FAILED, started_at=_at("2026-03-07 18:00"), finished_at=_at("2026-03-07 18:01")
    )
    f.RefreshRunFactory.create(started_at=_at("2026-04-01 18:00"), finished_at=_at("2026-04-01 18:05"))
    failed, valued, first = _feed("refresh")
    assert (valued.on, valued.amount_usd, valued.actor) == (D(2026, 3, 6), Decimal("50000.00"), "analyst")
    assert valued.title == "Full pipeline refresh succeeded"
    assert valued.summary == "As of 2026-03-06. Held value from 2026-03-05 to 2026-03-06. 1 error."
    assert valued.detail["value_usd"] == "1250000.00"
    assert (failed.title, failed.amount_usd) == ("Full pipeline refresh failed", None)
    assert first.amount_usd is None  # the first snapshot: nothing before it


def test_a_stewards_edit_names_the_fields_who_and_why(steward):
    """A steward doubles a position's quantity on 2026-03-18 with a reason: an edit of that position
    with the field by its name, old and new values, in its deal; the loader's change of the same
    position (no user) and a deal's long-stop flag set by the daily job in a user's name are not
    stewards' edits."""
    with freeze_time("2026-02-01 09:00:00"):
        position = f.PositionFactory.create(deal=_open_deal(long_stop_on=D(2026, 3, 2)), label="Common shares")
    with freeze_time("2026-03-18 11:00:00"):
        position.quantity = Decimal("2000000")
        record_save(position, user=steward, reason="Second tranche")
    with freeze_time("2026-03-19 11:00:00"):
        position.notes = "loaded"
        record_save(position, user=None, reason="Loaded")
        milestones_refresh(as_of=D(2026, 3, 19), user=steward)  # flags the long-stop of 2026-03-02
    assert m.Deal.objects.get(pk=position.deal_id).long_stop_passed
    (event,) = _feed("steward_edit")
    assert (event.on, event.title) == (D(2026, 3, 18), "Position \u201cCommon shares\u201d changed")
    assert (event.summary, event.actor, event.reason) == ("Changed Quantity.", "steward", "Second tranche")
    assert event.detail["changes"] == {"quantity": {"old": "1000000.000000", "new": "2000000.000000"}}
    assert (event.deal, event.company_id) == (position.deal.reference, position.deal.company_id)


def test_a_record_a_steward_creates_or_deletes_is_an_edit(steward):
    """A cash flow a steward records on 2026-03-20 and deletes on 2026-03-21: two edits, newest first,
    named by their kind (by its label) and date."""
    from portfolio.services.records import record_delete

    position = f.PositionFactory.create()
    with freeze_time("2026-03-20 10:00:00"):
        flow = record_save(
            m.CashFlow(
                position=position,
                kind=m.CashFlowKind.INVESTMENT,
                occurred_on=D(2026, 3, 19),
                amount=Decimal("500"),
                currency_id="USD",
            ),
            user=steward,
            reason="Wire received",
        )
    with freeze_time("2026-03-21 10:00:00"):
        record_delete(flow, user=steward, reason="Entered twice")
    deleted, created = _feed("steward_edit")
    assert (created.title, created.summary, created.reason) == (
        "Cash flow \u201cInvestment (paid), 2026-03-19\u201d created",
        "Created.",
        "Wire received",
    )
    assert (deleted.title, deleted.reason, deleted.on) == (
        "Cash flow \u201cInvestment (paid), 2026-03-19\u201d deleted",
        "Entered twice",
        D(2026, 3, 21),
    )


# --- Order, filters and checks ---------------------------------------------------------------------


def _two_deals(steward):
    """Two deals of two agencies and companies, each with a status change (2026-03-10) and a long-stop
    passed (2026-03-15 and 2026-03-16); a project milestone of the first deal's company achieved on
    2026-03-20; a refresh run on 2026-03-25."""
    first = _open_deal(long_stop_on=D(2026, 3, 15))
    second = _open_deal(long_stop_on=D(2026, 3, 16))
    for deal in (first, second):
        with freeze_time("2026-03-10 12:00:00"):
            deal.status = m.DealStatus.AGREEMENT_IN_PRINCIPLE
            record_save(deal, user=steward, reason="Talks")
    f.MilestoneFactory.create(project__company=first.company, achieved_on=D(2026, 3, 20), status="achieved")
    f.RefreshRunFactory.create(started_at=_at("2026-03-25 18:00"), finished_at=_at("2026-03-25 18:05"))
    return first, second


def test_newest_first(steward):
    """The events of ``_two_deals``, newest first: the run, the achievement, the two long-stops, the
    two status changes (of the same moment, by record)."""
    first, second = _two_deals(steward)
    feed = _feed()
    assert [(e.on, e.kind) for e in feed] == [
        (D(2026, 3, 25), "refresh"),
        (D(2026, 3, 20), "milestone_achieved"),
        (D(2026, 3, 16), "long_stop_passed"),
        (D(2026, 3, 15), "long_stop_passed"),
        (D(2026, 3, 10), "deal_status"),
        (D(2026, 3, 10), "deal_status"),
    ]
    assert [e.deal for e in feed[2:4]] == [second.reference, first.reference]


def test_filters_by_agency_company_deal_and_kind(steward):
    """Of ``_two_deals``: the first deal's agency and the first deal give its status change and
    long-stop; its company gives those and the project milestone (of the company, of no deal); a
    kind gives the events of that kind alone; a filter that names nothing gives nothing. The refresh
    run concerns no agency, company or deal."""
    first, second = _two_deals(steward)
    kinds = ["long_stop_passed", "deal_status"]
    assert [e.kind for e in _feed(agency=first.agency.short_name)] == kinds
    assert [e.kind for e in _feed(deal=first.reference)] == kinds
    assert [e.kind for e in _feed(company=first.company_id)] == ["milestone_achieved", *kinds]
    assert {e.deal for e in _feed(agency=second.agency.short_name)} == {second.reference}
    assert [e.deal for e in _feed("long_stop_passed")] == [second.reference, first.reference]
    assert _feed(deal="no-such-deal") == []
    assert _feed(agency=first.agency.short_name, deal=second.reference) == []


def test_a_start_after_the_end_or_an_unknown_kind_is_refused():
    """Asking for a period that ends before it starts, or for a kind the feed does not have, raises."""
    with pytest.raises(ValueError, match="after the end"):
        events_between(END, START)
    with pytest.raises(ValueError, match="Unknown kinds of event: gossip"):
        events_between(START, END, kinds=["gossip"])


def test_every_kind_has_a_label():
    """Each kind is shown by a label of its own."""
    assert len(set(KINDS.values())) == len(KINDS) == 9


# --- A fixed number of queries -----------------------------------------------------------------------


def _world(n: int, steward) -> None:
    """``n`` events of each kind: status changes, long-stops, revisions, achievements, milestones gone
    late, filings recorded and reviewed, refresh runs with snapshots, and stewards' edits of positions
    and milestones."""
    for i in range(n):
        with freeze_time("2026-02-01 09:00:00"):
            deal = _open_deal(long_stop_on=D(2026, 3, 2 + i % 20))
            position = f.PositionFactory.create(deal=deal)
            revised = f.MilestoneFactory.create(deal=deal, project=None)
            f.MilestoneFactory.create(
                deal=deal, project=None, forecast_start=D(2026, 2, 1), forecast_end=D(2026, 3, 1), status="at_risk"
            )
            f.MilestoneFactory.create(project__company=deal.company, achieved_on=D(2026, 3, 3), status="achieved")
        with freeze_time("2026-03-10 12:00:00"):
            deal.status = m.DealStatus.DEFINITIVE
            record_save(deal, user=steward, reason="Signed")
            position.quantity += 1
            record_save(position, user=steward, reason="Corrected")
            revised.forecast_text = "2026-12-31"
            record_save(revised, user=steward, reason="Revised")
            filing = f.FilingEventFactory.create(company=deal.company, filed_on=D(2026, 3, 9))
        m.FilingEvent.objects.filter(pk=filing.pk).update(reviewed_by=steward, reviewed_at=_at("2026-03-11 09:00"))
        day = D(2026, 3, 1) + dt.timedelta(days=i)
        run = f.RefreshRunFactory.create(
            as_of=day, requested_by=steward, started_at=_at(f"{day} 18:00"), finished_at=_at(f"{day} 18:05")
        )
        m.PortfolioSnapshot.objects.create(as_of=day, value_usd=Decimal(1000 + i), refresh_run=run)
    with freeze_time("2026-03-12 06:00:00"):
        milestones_refresh(as_of=D(2026, 3, 12))  # the milestones of 2026-03-01 go late


@pytest.mark.parametrize("n", [1, 30])
def test_the_feed_reads_a_fixed_number_of_queries(steward, django_assert_num_queries, n):
    """With 1 and with 30 events of each kind the feed reads the same number of queries: one a
    reader and one for the history of each model stewards edit (``QUERIES``)."""
    _world(n, steward)
    with django_assert_num_queries(QUERIES):
        feed = _feed()
    counts = {kind: sum(1 for e in feed if e.kind == kind) for kind in KINDS}
    assert counts == {
        "deal_status": n,
        "long_stop_passed": n,
        "milestone_revised": n,
        "milestone_achieved": n,
        "milestone_late": n,
        "filing_recorded": n,
        "filing_reviewed": n,
        "refresh": n,
        "steward_edit": 2 * n,  # a position's quantity and a milestone's forecast text
    }
