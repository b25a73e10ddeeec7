"""The labels of the codes the book groups by, for the pages: kept in ``portfolio.labels`` (the
printable report, composed below the pages, reads them too) and imported from here as before."""

from portfolio.labels import LEG_LABELS as LEG_LABELS
from portfolio.labels import UNASSIGNED_LABELS as UNASSIGNED_LABELS
from portfolio.labels import country_name as country_name
from portfolio.labels import dimension_labels as dimension_labels
