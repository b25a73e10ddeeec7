"""Each read rule has one home, the book (``portfolio/book/``): a second definition elsewhere fails here.

Read from the source with the ``ast`` module: a function named as one of the book's rules, a
comparison of an acquisition or closing date with another date, a database lookup that compares
them, or a use of the cash-flow signs (the ledger) outside the book and the models.
"""

from __future__ import annotations

import ast
from pathlib import Path

PORTFOLIO = Path(__file__).resolve().parents[3] / "portfolio"
BOOK = PORTFOLIO / "book"
#: Functions that only the book defines: the default date, the FX lookup, the latest valuation,
#: the held rule.
BOOK_FUNCTIONS = {"default_as_of", "usd_per", "latest_valuations", "deal_basis", "position_basis", "held_on"}
DATE_FIELDS = {"acquired_on", "closed_on"}
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
LOOKUPS = ("__lt", "__lte", "__gt", "__gte", "__range")


def _modules() -> list[Path]:
    return [
        path for path in sorted(PORTFOLIO.rglob("*.py")) if BOOK not in path.parents and "migrations" not in path.parts
    ]


def _offences(path: Path, root: Path = PORTFOLIO.parent) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(root)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in BOOK_FUNCTIONS:
            found.append(f"{where}:{node.lineno} defines {node.name}()")
        if isinstance(node, ast.Compare) and any(isinstance(op, ORDERING) for op in node.ops):
            names = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if names & DATE_FIELDS:
                found.append(f"{where}:{node.lineno} compares {sorted(names & DATE_FIELDS)} with a date")
        if isinstance(node, ast.keyword) and node.arg:
            field, _, lookup = node.arg.rpartition("__")
            if field.split("__")[-1] in DATE_FIELDS and f"__{lookup}" in LOOKUPS:
                found.append(f"{where}:{node.lineno} filters on {node.arg}")
        if isinstance(node, ast.Name) and node.id == "CASH_FLOW_SIGN" and "models" not in path.parts:
            found.append(f"{where}:{node.lineno} reads the cash-flow signs (the ledger is the book's)")
    return found


def test_the_book_is_the_one_home_of_its_rules():
    """No module outside the book defines one of its rules, compares acquisition or closing dates, or
    reads the cash-flow signs: the held rule cannot drift between two copies."""
    offences = [offence for path in _modules() for offence in _offences(path)]
    assert offences == []


def test_the_check_finds_a_second_held_rule(tmp_path):
    """The check itself: a module that re-derives what is held on a date is caught."""
    module = tmp_path / "rogue.py"
    module.write_text(
        "def held(position, on):\n"
        "    return position.acquired_on <= on\n\n"
        "def rows(qs, on):\n"
        "    return qs.filter(deal__closed_on__lte=on)\n\n"
        "def default_as_of():\n"
        "    return None\n"
    )
    offences = _offences(module, root=tmp_path)
    assert len(offences) == 3, offences
