"""Spreadsheets of portfolio records: the kinds a steward can import, their columns, and reading and
writing them as CSV and XLSX. Nothing here writes to the database: imports go through
``portfolio.services.imports``."""
