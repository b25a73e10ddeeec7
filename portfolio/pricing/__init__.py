"""Valuation arithmetic: pure functions of numbers, with no database or network access."""
