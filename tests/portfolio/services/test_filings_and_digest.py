"""The SEC filings watcher against stored submissions answers, the review queue, and the digest."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.core import mail
from django.urls import reverse

from portfolio import models as m
from portfolio.digest import digest_compose, digest_send
from portfolio.services.filings import filings_refresh, form_is_watched
from portfolio.services.milestones import milestones_refresh
from tests import factories as f

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "edgar"
SUBMISSIONS = re.compile(r"https://data\.sec\.gov/submissions/CIK0001801368\.json")
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def mp():
    return f.CompanyFactory(name="MP Materials Corp.", cik="0001801368")


@responses.activate
def test_new_watched_filings_are_recorded_once(mp, settings):
    """Only the watched forms of the last 30 days are recorded, once however often EDGAR is asked, as
    new for review with their document's address; a later filing is added on the next check; the SEC
    is told who is calling."""
    # given: a first check, then the same answer again, then one newer filing
    settings.LODESTONE_CONTACT_EMAIL = "ops@agency.example.gov"
    responses.get(SUBMISSIONS, body=(FIXTURES / "submissions_mp.json").read_text())
    # when
    first = filings_refresh(as_of=TODAY)
    second = filings_refresh(as_of=TODAY)
    # then: only the watched forms of the last 30 days (8-K, Form 4, 10-Q; not the S-8), once
    recorded = list(m.FilingEvent.objects.order_by("-filed_on").values_list("form", "accession_number", "items"))
    assert recorded == [
        ("8-K", "0001193125-26-101010", "7.01,8.01"),
        ("4", "0001801368-26-000007", ""),
        ("10-Q", "0001193125-26-090909", ""),
    ]
    assert (first.written, second.written) == (3, 0)
    mp.refresh_from_db()
    assert mp.edgar_last_accession == "0001193125-26-101010"
    assert "ops@agency.example.gov" in responses.calls[0].request.headers["User-Agent"]
    filing = m.FilingEvent.objects.get(form="8-K")
    assert filing.url == "https://www.sec.gov/Archives/edgar/data/1801368/000119312526101010/d8k.htm"
    assert filing.review_status == "new"
    # when: an hour later EDGAR lists one more filing
    responses.replace(responses.GET, SUBMISSIONS, body=(FIXTURES / "submissions_mp_later.json").read_text())
    third = filings_refresh(as_of=TODAY)
    assert third.written == 1
    assert m.FilingEvent.objects.count() == 4


@responses.activate
def test_an_edgar_outage_is_recorded_and_changes_nothing(mp):
    """EDGAR answering 503 is counted as a transient failure; nothing is recorded and the company's last
    seen filing stays as it was, so the next check starts from the same place."""
    responses.get(SUBMISSIONS, status=503)
    result = filings_refresh(as_of=TODAY)
    assert (result.failed, result.transient_failures) == (1, 1)
    assert not m.FilingEvent.objects.exists()
    mp.refresh_from_db()
    assert mp.edgar_last_accession == ""


def test_watched_forms():
    """The watched forms are matched whatever their case and amendment suffix (8-K, 424B3, SC 13D/A),
    while S-8 and a bare 424 are not watched."""
    assert form_is_watched("8-K")
    assert form_is_watched("424B3")
    assert form_is_watched("sc 13d/a")
    assert not form_is_watched("S-8")
    assert not form_is_watched("424")


def test_edgar_is_called_at_most_ten_times_a_second(settings):
    """EDGAR's gate allows ten calls a second, the SEC's published fair-access limit."""
    assert settings.LODESTONE_PROVIDER_GATES["edgar"]["calls_per_second"] == 10


def test_the_review_queue_in_the_admin(steward_client, steward):
    """In the admin a steward marks a filing reviewed, or creates a milestone from one with the form
    prefilled from the filing; the filing then points at the milestone, which has its window and a
    revision in the steward's name."""
    filing = f.FilingEventFactory(form="8-K", items="1.01")
    other = f.FilingEventFactory()
    changelist = reverse("admin:portfolio_filingevent_changelist")
    # mark one reviewed
    response = steward_client.post(changelist, {"action": "mark_reviewed", "_selected_action": [other.pk]})
    assert response.status_code == HTTPStatus.FOUND
    other.refresh_from_db()
    assert (other.review_status, other.reviewed_by) == ("reviewed", steward)
    # create a milestone from the other: the add form comes prefilled with the filing as the source
    response = steward_client.post(changelist, {"action": "create_milestone", "_selected_action": [filing.pk]})
    add_url = response["Location"]
    query = parse_qs(urlparse(add_url).query)
    assert query["source_url"] == [filing.url]
    assert query["evidence"] == ["filing"]
    form = steward_client.get(add_url).context["adminform"].form
    assert form.initial["source_url"] == filing.url
    project = f.ProjectFactory()
    response = steward_client.post(
        add_url,
        {
            "project": project.pk,
            "kind": "fid",
            "title": "Final investment decision",
            "sequence": "10",
            "forecast_text": "H1 2027",
            "status": "planned",
            "source_url": filing.url,
            "source_published_on": str(filing.filed_on),
            "evidence": "filing",
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    milestone = m.Milestone.objects.get(title="Final investment decision")
    filing.refresh_from_db()
    assert (filing.review_status, filing.milestone, filing.reviewed_by) == ("milestone", milestone, steward)
    assert milestone.forecast_end == dt.date(2027, 6, 30)
    assert milestone.revisions.get().recorded_by == steward


def test_the_digest_lists_what_changed_and_what_needs_review():
    """The digest lists the milestones newly late, the letters of intent whose long-stop is near (not
    closed deals) and the filings not yet reviewed."""
    # given
    late = f.MilestoneFactory(
        title="Mechanical completion",
        forecast_text="Q3 2026",
        forecast_start=dt.date(2026, 7, 1),
        forecast_end=dt.date(2026, 9, 30),
        status="at_risk",
    )
    f.MilestoneFactory(
        title="Far away", forecast_end=dt.date(2029, 12, 31), forecast_start=dt.date(2029, 1, 1), status="on_track"
    )
    f.DealFactory(
        title="Binding LOI with a long-stop",
        status="binding_loi",
        signed_on=None,
        closed_on=None,
        long_stop_on=TODAY + dt.timedelta(days=10),
    )
    f.DealFactory(title="Closed deal", long_stop_on=TODAY + dt.timedelta(days=10))
    f.FilingEventFactory(form="8-K", company__name="USA Rare Earth, Inc.")
    f.FilingEventFactory(form="10-Q", review_status="reviewed")
    milestones_refresh(as_of=TODAY)
    # when
    digest = digest_compose(as_of=TODAY)
    # then
    assert [(c.milestone, c.to_status) for c in digest.newly_late] == [(late, "late")]
    assert [d.title for d in digest.long_stops] == ["Binding LOI with a long-stop"]
    assert [fe.form for fe in digest.unreviewed_filings] == ["8-K"]
    assert digest.subject.startswith(f"Lodestone digest {TODAY}: ")


def test_the_digest_is_mailed_to_active_subscribers_with_an_address():
    """The digest is mailed only to active subscribers with an e-mail address, listing the filings to
    review and the milestone changes."""
    f.DigestSubscriptionFactory(user__email="analyst@agency.example.gov")
    f.DigestSubscriptionFactory(user__email="left@agency.example.gov", is_active=False)
    f.DigestSubscriptionFactory(user__email="")
    f.FilingEventFactory(form="8-K", company__name="MP Materials Corp.")
    assert digest_send(as_of=TODAY) == 1
    (message,) = mail.outbox
    assert message.to == ["analyst@agency.example.gov"]
    assert "Filings to review (1)" in message.body
    assert "MP Materials Corp.: 8-K" in message.body
    assert "Milestone status changes (0)" in message.body


def test_no_digest_when_there_is_nothing_to_say():
    """With nothing to report no digest is sent."""
    f.DigestSubscriptionFactory(user__email="analyst@agency.example.gov")
    assert digest_send(as_of=TODAY) == 0
    assert mail.outbox == []


def test_the_digest_leads_with_the_weeks_bridge(settings):
    """One held position, 100,000 shares valued at 10.00 on 2026-11-20 and 11.00 on 2026-11-27
    (the latest valuation date): the digest of 2026-11-28 opens with the week's bridge, 1,000,000.00
    to 1,100,000.00, a share-price effect of +100,000.00, and links to the Changes page of that
    week, in the plain text and in the HTML alternative."""
    settings.LODESTONE_SITE_URL = "https://lodestone.example.gov"
    f.DigestSubscriptionFactory(user__email="analyst@agency.example.gov")
    position = f.PositionFactory()
    for on, close in ((dt.date(2026, 11, 20), "10.00"), (dt.date(2026, 11, 27), "11.00")):
        value = Decimal(close) * 100000
        f.ValuationFactory(position=position, as_of=on, value_local=value, value_usd=value, inputs={"close": close})
    assert digest_send(as_of=TODAY) == 1
    (message,) = mail.outbox
    assert "held value +US$100,000 over the week" in message.subject
    lines = message.body.splitlines()
    assert lines[2] == (
        "The held book from 2026-11-20 to 2026-11-27: US$1,000,000.00 to US$1,100,000.00 (US$100,000.00)"
    )
    assert lines[3] == "- Share-price effect: US$100,000.00"
    link = "https://lodestone.example.gov/changes/?start=2026-11-20&end=2026-11-27"
    assert f"Why, step by step: {link}" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    assert link.replace("&", "&amp;") in html
    assert 'Share-price effect</th><td style="text-align: right;">US$100,000.00' in html
