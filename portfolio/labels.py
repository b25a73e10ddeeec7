"""Labels for the codes the book groups by: a page shows "NdPr oxide", "Canada" or "Convertible
preferred", never ndpr-oxide, CA or convertible_preferred."""

from __future__ import annotations

from collections.abc import Iterable

from portfolio.book.allocation import UNASSIGNED
from portfolio.models import Agency, Commodity, Deal, InstrumentKind, ProjectStage, country_name

#: The legs of exposure beside the instruments, in the instrument dimension.
LEG_LABELS = {"loan": "Loans outstanding", "price_floor": "Price floors", "guarantee": "Guarantees"}
UNASSIGNED_LABELS = {
    "commodity": "No project or commodity recorded",
    "stage": "No project recorded",
}


def dimension_labels(dimension: str, keys: Iterable[str]) -> dict[str, str]:
    """Each key of a book dimension with its label (one query for commodities, agencies and deals;
    none for the others). A key with no label is shown as it is."""
    keys = list(keys)
    labels: dict[str, str] = {}
    if dimension == "commodity":
        labels = dict(Commodity.objects.filter(code__in=keys).values_list("code", "name"))
    elif dimension == "agency":
        labels = {
            short: f"{name} ({short})"
            for short, name in Agency.objects.filter(short_name__in=keys).values_list("short_name", "name")
        }
    elif dimension == "deal":
        labels = dict(Deal.objects.filter(reference__in=keys).values_list("reference", "title"))
    elif dimension == "country":
        labels = {key: country_name(key) for key in keys}
    elif dimension == "stage":
        labels = {key: str(ProjectStage(key).label) for key in keys if key in ProjectStage.values}
    elif dimension == "instrument":
        labels = {key: str(InstrumentKind(key).label) for key in keys if key in InstrumentKind.values}
        labels.update({key: LEG_LABELS[key] for key in keys if key in LEG_LABELS})
    if UNASSIGNED in keys and dimension in UNASSIGNED_LABELS:
        labels[UNASSIGNED] = UNASSIGNED_LABELS[dimension]
    return {key: labels.get(key, key) for key in keys}
