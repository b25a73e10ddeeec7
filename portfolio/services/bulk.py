"""Bulk writes of thousands of rows in one statement, on PostgreSQL (``copy_upsert``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models, transaction
from psycopg import sql


def copy_upsert(
    model: type[models.Model],
    *,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    unique: Sequence[str],
    update: Sequence[str],
    insert_only: dict[str, str] | None = None,
) -> None:
    """Insert ``rows`` (each its values in the order of ``columns``, the table's column names) into
    ``model``'s table, or update ``update`` where a row with the same ``unique`` columns is stored:
    copied (COPY, in PostgreSQL's own format: no statement parameters to quote, no model instance a
    row) into a temporary table, then upserted from it in one statement. ``insert_only``: columns
    a new row takes from one of ``columns`` (a creation time from the update time). No two rows may
    share their ``unique`` columns. For bulk writes of thousands of rows that send no signals (a
    date's valuations, a year of closes), on PostgreSQL."""
    insert_only = insert_only or {}
    table = sql.Identifier(model._meta.db_table)
    incoming = sql.Identifier(f"{model._meta.db_table}_incoming")
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    targets = sql.SQL(", ").join(map(sql.Identifier, [*insert_only, *columns]))
    sources = sql.SQL(", ").join(map(sql.Identifier, [*insert_only.values(), *columns]))
    updates = sql.SQL(", ").join(
        sql.SQL("{column} = EXCLUDED.{column}").format(column=sql.Identifier(column)) for column in update
    )
    keys = sql.SQL(", ").join(map(sql.Identifier, unique))
    create = sql.SQL("CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} AS SELECT {names} FROM {table} WITH NO DATA")
    copy_in = sql.SQL("COPY {incoming} ({names}) FROM STDIN")
    upsert_all = sql.SQL(
        "INSERT INTO {table} ({targets}) SELECT {sources} FROM {incoming} ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    )
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(create.format(incoming=incoming, names=names, table=table))
        with cursor.copy(copy_in.format(incoming=incoming, names=names)) as copy:
            for row in rows:
                copy.write_row(row)
        parts = {"table": table, "targets": targets, "sources": sources, "incoming": incoming}
        cursor.execute(upsert_all.format(**parts, keys=keys, updates=updates))
        cursor.execute(sql.SQL("TRUNCATE {incoming}").format(incoming=incoming))
