"""The book: what the government holds, has committed and is negotiating on any date, at what cost
and what value. The read side's one home for the held rule (``basis``), the FX lookup (``fx``),
the cost ledger (``ledger``), the valuation methods (``valuing``), the stored and computed values
(``values``), the default date (``dates``), the figures (``core``) and their change over a
period (``periods``). Valuations, pages, the API, exports, the report and the digest read it; it
writes nothing and imports no service.
"""

from .allocation import DIMENSIONS
from .basis import BOOK_LABELS, BOOKS, DEFAULT_BOOK, Basis
from .core import EXPOSURE_LEGS, BasisTotal, Book, Figures, Holding, book_on, one_source, value_over_time
from .dates import default_as_of, today
from .periods import DEFAULT_PERIOD, Change, ChangePeriod, period_start

#: The version of the rules behind the figures (what is held on a date, how each instrument is
#: valued, the FX lookup, the cost ledger, the allocation): stored with each published report, so a
#: reader knows by which rules its figures were worked out. Change it whenever a valuation or a held
#: rule changes (the figures of a date could then differ from a report published before).
RULES_VERSION = "2026.11"

__all__ = [
    "BOOKS",
    "BOOK_LABELS",
    "DEFAULT_BOOK",
    "DEFAULT_PERIOD",
    "DIMENSIONS",
    "EXPOSURE_LEGS",
    "RULES_VERSION",
    "Basis",
    "BasisTotal",
    "Book",
    "Change",
    "ChangePeriod",
    "Figures",
    "Holding",
    "book_on",
    "default_as_of",
    "one_source",
    "period_start",
    "today",
    "value_over_time",
]
