"""The held rule, stated once in Python and once as database filters: both give the same basis."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db.models import Value
from django.db.models.fields import DateField

from portfolio import models as m
from portfolio.book.basis import Basis, DealTerms, deal_basis, position_basis, position_basis_q
from tests import factories as f

pytestmark = pytest.mark.django_db
DAYS = [dt.date(2025, 1, 1), dt.date(2025, 3, 1), dt.date(2025, 6, 1), dt.date(2025, 9, 1)]
OPTIONAL = [None, *DAYS]


def test_the_rule_in_python_and_in_the_database_agree():
    """Every status with announcement, signature, closing and long-stop dates before, on and after
    four dates, and positions verified or not, acquired or not: the database filter of each basis
    selects exactly the positions the Python rule gives that basis."""
    positions = {}
    for n, (status, signed, closed, long_stop) in enumerate(
        itertools.product(m.DealStatus.values, [None, DAYS[1]], [None, DAYS[1], DAYS[2]], [None, DAYS[1], DAYS[3]])
    ):
        if closed and signed and closed < signed:
            continue
        deal = f.DealFactory(
            reference=f"d{n}", status=status, announced_on=DAYS[1] if n % 2 else None, signed_on=signed,
            closed_on=closed, long_stop_on=long_stop,
        )  # fmt: skip
        for evidence, acquired in itertools.product(["filing", "unverified"], [None, DAYS[1], DAYS[2]]):
            p = f.PositionFactory(
                deal=deal, evidence=evidence, source_url="https://x.example/a" if evidence != "unverified" else "",
                acquired_on=acquired, expires_on=None,
            )  # fmt: skip
            positions[p.pk] = (DealTerms.of(deal), evidence, acquired)
    for day in DAYS:
        expected: dict[Basis | None, set[int]] = {}
        for pk, (terms, evidence, acquired) in positions.items():
            basis = position_basis(deal_basis(terms, day), evidence=evidence, acquired_on=acquired, on=day)
            expected.setdefault(basis, set()).add(pk)
        for basis in (Basis.HELD, Basis.COMMITTED, Basis.PIPELINE, Basis.LAPSED, Basis.UNVERIFIED, Basis.INCOMPLETE):
            q = position_basis_q(basis, day=Value(day, output_field=DateField()))
            found = set(m.Position.objects.filter(q).values_list("pk", flat=True))
            assert found == expected.get(basis, set()), (day, basis)


def test_deal_bases_by_hand():
    """A deal closed on 2025-03-01 is committed the day before (signed), held from the day itself;
    one whose long-stop passed is lapsed the day after; a terminated one always lapsed; one not yet
    announced has no basis."""
    closed = DealTerms("closed", dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1), None)
    assert deal_basis(closed, dt.date(2025, 2, 28)) == Basis.COMMITTED
    assert deal_basis(closed, dt.date(2025, 3, 1)) == Basis.HELD
    assert deal_basis(closed, dt.date(2024, 12, 31)) is None
    loi = DealTerms("binding_loi", dt.date(2025, 1, 1), dt.date(2025, 1, 1), None, dt.date(2025, 6, 30))
    assert deal_basis(loi, dt.date(2025, 6, 30)) == Basis.PIPELINE
    assert deal_basis(loi, dt.date(2025, 7, 1)) == Basis.LAPSED
    assert deal_basis(loi._replace(status="terminated"), dt.date(2025, 2, 1)) == Basis.LAPSED
