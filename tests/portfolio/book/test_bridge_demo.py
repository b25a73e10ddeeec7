"""The value bridge on the demo data (the public deals), between dates drawn at random."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.book import book_on
from portfolio.book.bridge import BRIDGE_DIMENSIONS, book_bridge
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_request, refresh_run_execute

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)
DAYS = st.dates(min_value=dt.date(2024, 6, 1), max_value=AS_OF)


@pytest.fixture
def demo():
    demo_data_load()
    run = refresh_request(kind="pipeline", trigger="command", as_of=AS_OF)
    assert refresh_run_execute(run_id=run.pk).status == "succeeded"


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(first=DAYS, second=DAYS, dimension=st.sampled_from(BRIDGE_DIMENSIONS))
def test_the_steps_add_up_to_the_change_on_any_dates(demo, first, second, dimension):
    """Between any two dates and by any dimension, the book's and every group's steps add up to the
    cent to their closing value less their opening value, and the groups add up to the book."""
    start, end = min(first, second), max(first, second)
    result = book_bridge(start, end, dimension)
    parts = [result.total, *result.groups.values()]
    for bridge in parts:
        assert bridge.opening + sum(step.amount for step in bridge.steps.values()) == bridge.closing
    if dimension != "total":
        assert sum(g.opening for g in result.groups.values()) == result.total.opening
        assert sum(g.closing for g in result.groups.values()) == result.total.closing
        for kind, step in result.total.steps.items():
            assert sum(g.steps[kind].amount for g in result.groups.values()) == step.amount


def test_the_last_sixty_days_are_explained(demo):
    """The default period of the Changes page: the held book's value on 2026-09-28 and on 2026-11-27
    (the book's own figures), and steps between them that add up."""
    start = AS_OF - dt.timedelta(days=60)
    bridge = book_bridge(start, AS_OF).total
    assert bridge.closing == book_on(AS_OF).figures()["total"].value
    assert bridge.opening == book_on(start).figures()["total"].known_value
    assert bridge.opening + sum(step.amount for step in bridge.steps.values()) == bridge.closing
    assert bridge.steps["price"].amount  # prices moved over the sixty days


def test_a_bridge_of_one_day_to_itself_moves_nothing(demo):
    """From 2026-11-27 to itself every step is 0: the options and the convertible re-priced at
    the same share price give no share-price or model effect."""
    bridge = book_bridge(AS_OF, AS_OF).total
    assert bridge.opening == bridge.closing
    assert all(step.amount == 0 for step in bridge.steps.values())
