"""The book: what the government holds, has committed and is negotiating on any date, at what cost
and what value. The read side's one home for the held rule (``basis``), the FX lookup (``fx``),
the cost ledger (``ledger``), the valuation methods (``valuing``), the stored and computed values
(``values``), the default date (``dates``), the figures (``core``) and their change over a
period (``periods``). Valuations, pages, the API, exports, the report and the digest read it; it
writes nothing and imports no service.
"""

from .basis import BOOK_LABELS, BOOKS, DEFAULT_BOOK, Basis
from .core import DIMENSIONS, EXPOSURE_LEGS, BasisTotal, Book, Figures, Holding, book_on, value_over_time
from .dates import default_as_of, today
from .periods import DEFAULT_PERIOD, Change, ChangePeriod, period_start

__all__ = [
    "BOOKS",
    "BOOK_LABELS",
    "DEFAULT_BOOK",
    "DEFAULT_PERIOD",
    "DIMENSIONS",
    "EXPOSURE_LEGS",
    "Basis",
    "BasisTotal",
    "Book",
    "Change",
    "ChangePeriod",
    "Figures",
    "Holding",
    "book_on",
    "default_as_of",
    "period_start",
    "today",
    "value_over_time",
]
