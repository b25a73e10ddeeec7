"""As-converted shares and ownership percent, checked against hand-worked figures."""

from decimal import Decimal

import pytest

from portfolio.ownership import position_ownership_pct
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_convertible_preferred_as_converted_shares_match_the_registered_resale():
    """MP: 400,000 preferred x $1,000 stated / $30.03 = 13,320,013.32 shares; with the 11,201,659
    warrant shares that is the 24,521,672 MP registered for resale in August 2025."""
    preferred = f.PositionFactory(convertible=True)
    warrant = f.PositionFactory(warrant=True, deal=preferred.deal, quantity=Decimal("11201659"))
    assert round(preferred.as_converted_shares, 2) == Decimal("13320013.32")
    assert int(preferred.as_converted_shares + warrant.as_converted_shares) == 24521672


def test_ownership_is_fully_diluted_by_the_position_itself():
    """Warrants over 25M shares on 100M outstanding: 25 / (100 + 25) = 20 %."""
    warrant = f.PositionFactory(warrant=True, quantity=Decimal("25000000"))
    assert position_ownership_pct(warrant) == Decimal("20")


def test_common_shares_and_third_party_calls_create_no_new_shares():
    """10M common of 100M outstanding = 10 %; a call over another holder's 10M shares is also 10 %."""
    common = f.PositionFactory(quantity=Decimal("10000000"))
    call = f.PositionFactory(deal=common.deal, kind="call_option", strike=Decimal("0.01"), quantity=Decimal("10000000"))
    assert position_ownership_pct(common) == Decimal("10")
    assert position_ownership_pct(call) == Decimal("10")


def test_warrant_shares_per_warrant():
    """8,215,570 units x 3/4 warrant = 6,161,677.5 warrant shares (Trilogy units)."""
    warrant = f.PositionFactory(warrant=True, quantity=Decimal("8215570"), shares_per_warrant=Decimal("0.75"))
    assert warrant.as_converted_shares == Decimal("6161677.5")


def test_ownership_is_undefined_without_a_share_count():
    """Without the company's share count, or for private shares with no quantity, ownership is undefined
    (None), never 0."""
    position = f.PositionFactory(deal__company__share_count=None)
    assert position_ownership_pct(position) is None
    private = f.PositionFactory(kind="private_equity", listing=None, underlying="Private shares", quantity=None)
    assert private.as_converted_shares is None
    assert position_ownership_pct(private) is None


def test_ownership_stops_at_the_cap():
    """13,320,013.32 conversion shares on 50M outstanding would be 21.04 % (13.32M / 63.32M);
    the 19.9 % cap holds it there."""
    preferred = f.PositionFactory(convertible=True, deal__company__share_count__shares=Decimal("50000000"))
    assert position_ownership_pct(preferred) == Decimal("19.9")
    preferred.ownership_cap_pct = None
    assert round(position_ownership_pct(preferred), 2) == Decimal("21.04")
