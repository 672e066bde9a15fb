"""Projections: the read side of a shard, stored. What the rows are is folded from the
engine's events by the core (`engine.core.projection`, compiled with it); this stores a
batch's rows with a handful of multi-row statements inside the caller's transaction
(COPY or one INSERT over arrays, upserts, one UPDATE of the orders placed before), and
holds the statement helpers the journal's writes share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from functools import cache
from typing import Any

import psycopg
from django.db import connection
from django.db.models import F, Model

from engine import models
from engine.codec import json_text
from engine.core.projection import (
    BALANCE_COLUMNS,
    CANDLE_COLUMNS,
    FILL_COLUMNS,
    FUNDING_COLUMNS,
    HOLDING_COLUMNS,
    INSURANCE_COLUMNS,
    MARKET_COLUMNS,
    ORDER_COLUMNS,
    ORDER_UPDATE_COLUMNS,
    POSITION_COLUMNS,
    STATEMENT_COLUMNS,
    ProjectionRows,
)


def projection_rows_store(rows: ProjectionRows) -> None:
    """Write a batch's rows (inside the caller's transaction, on this thread's connection)."""
    _insert(models.Order, ORDER_COLUMNS, rows.orders)
    if rows.order_updates:
        _update_orders(rows.shard_id, rows.order_updates)
    _insert(models.Fill, FILL_COLUMNS, rows.fills)
    _insert(models.StatementEntry, STATEMENT_COLUMNS, rows.statement)
    _insert(models.InsuranceEntry, INSURANCE_COLUMNS, rows.insurance)
    _insert(models.FundingEntry, FUNDING_COLUMNS, rows.funding)
    _upsert(models.Balance, BALANCE_COLUMNS, 3, rows.balances)
    _upsert(models.Position, POSITION_COLUMNS, 3, rows.positions)
    _upsert(models.Holding, HOLDING_COLUMNS, 3, rows.holdings)
    markets = rows.markets
    if connection.vendor == "postgresql":
        # the config as JSON text (the column's value)
        markets = [(*row[:4], json_text(row[4]), *row[5:]) for row in markets]
    _upsert(models.MarketView, MARKET_COLUMNS, 2, markets)
    _candles_merge(rows.candles)


def _candles_merge(rows: list[tuple[Any, ...]]) -> None:
    """Merge the batch's one-minute bars into the stored ones of the same minutes (an
    earlier batch's trades of the minute come first: they keep the open)."""
    if not rows:
        return
    conflict = " ON CONFLICT (shard_id, market_id, start) DO UPDATE SET "
    if connection.vendor == "postgresql":
        merge = "GREATEST(c.high, EXCLUDED.high)", "LEAST(c.low, EXCLUDED.low)"
    else:
        merge = "MAX(c.high, EXCLUDED.high)", "MIN(c.low, EXCLUDED.low)"
    conflict += (
        f"high = {merge[0]}, low = {merge[1]}, close = EXCLUDED.close, "
        "volume = c.volume + EXCLUDED.volume, turnover = c.turnover + EXCLUDED.turnover, "
        "trades = c.trades + EXCLUDED.trades"
    )
    if connection.vendor == "postgresql":
        _insert_arrays(models.Candle, CANDLE_COLUMNS, rows, conflict, alias="c")
        return
    names = ", ".join(CANDLE_COLUMNS)
    marks = ", ".join(["%s"] * len(CANDLE_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO engine_candle AS c ({names}) VALUES ({marks}){conflict}",  # noqa: S608
            [(*row[:3], *(str(value) for value in row[3:-1]), row[-1]) for row in rows],
        )


def _insert(model: type[Any], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Append rows. On PostgreSQL a few rows (or any inside a pipeline, where COPY cannot
    run) as one prepared INSERT over arrays, many through COPY; a multi-row INSERT elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        if prepared(rows) or in_pipeline():
            _insert_arrays(model, columns, rows)
            return
        table = model._meta.db_table
        names = ", ".join(f'"{name}"' for name in columns)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )


def binding_cursor() -> Any:
    """A cursor of this thread's connection that sends parameters apart from the statement
    (PostgreSQL's extended protocol): binary arrays need it, where Django's cursors bind
    on the client and quote every element as text. The callers prepare a statement for a
    few rows (`prepared(rows)`; the settings turn the preparation Django turns off back on)."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


# Below this many rows a statement is prepared (parsed and planned once per connection,
# then run on its generic plan): a trickle of orders makes a batch of a few commands every
# few milliseconds, and each would pay its statements' parsing and planning again. A full
# inbox's batch of thousands is planned for its rows: the planning is nothing beside them.
PREPARED_BELOW = 256


def prepared(rows: Sized) -> bool:
    return len(rows) < PREPARED_BELOW


@contextmanager
def pipelined(rows: Sized) -> Iterator[None]:
    """For a batch of fewer than PREPARED_BELOW commands on PostgreSQL (a trickle of
    orders), send the statements of the block in one pipeline: one round trip at its end
    instead of one per statement, which with a dozen statements per batch was most of the
    time an order waited for its batch's commit. An error of any statement is raised at
    the end of the block; what statements answer (`rows_written`) is known after it."""
    if connection.vendor != "postgresql" or not prepared(rows):
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


def in_pipeline() -> bool:
    raw = connection.connection
    return raw is not None and bool(raw.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF)


def rows_written(sql: str, params: list[Any], *, prepare: bool) -> Callable[[], int]:
    """Run a statement (PostgreSQL, parameters bound apart); how many rows it wrote, asked
    once it has run (inside a pipeline, after the pipeline's end)."""
    cursor = binding_cursor()
    cursor.execute(sql, params, prepare=prepare)

    def written() -> int:
        with cursor:  # closed only now: closing it forgets its result
            return int(cursor.rowcount)

    return written


def unnest_rows(
    model: type[Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> tuple[str, list[Any]]:
    """Rows as one set for a single statement (PostgreSQL): `unnest(...) AS s(columns)`
    over one binary array parameter per column (typed as the model's column), and those
    arrays. No staging table, no round trip per step."""
    return _unnest_source(model, columns), [list(column) for column in zip(*rows, strict=True)]


@cache
def _unnest_source(model: type[Model], columns: tuple[str, ...]) -> str:
    """`unnest_rows`' SQL, made once per table and columns (the fields' database types
    are looked up field by field)."""
    arrays = ", ".join(
        f"%b::{model._meta.get_field(name).db_type(connection)}[]" for name in columns
    )
    names = ", ".join(f'"{name}"' for name in columns)
    return f"unnest({arrays}) AS s({names})"


def _upsert(
    model: type[Any], columns: tuple[str, ...], keys: int, rows: list[tuple[Any, ...]]
) -> None:
    """Insert or update rows on their first `keys` columns: on PostgreSQL, one INSERT ...
    ON CONFLICT over the rows passed as arrays."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        conflict = ", ".join(f'"{name}"' for name in columns[:keys])
        updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in columns[keys:])
        _insert_arrays(model, columns, rows, f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}")
        return
    fields = [name.removesuffix("_id") if name == "shard_id" else name for name in columns]
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows],
        batch_size=500,
        update_conflicts=True,
        unique_fields=fields[:keys],
        update_fields=fields[keys:],
    )


def _insert_arrays(
    model: type[Model],
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    tail: str = "",
    *,
    alias: str = "",
) -> None:
    """PostgreSQL: one INSERT of the rows passed as arrays (`unnest_rows`), prepared for a
    few rows; `tail` ends the statement (an ON CONFLICT clause, where the table may be
    named `alias`)."""
    table = model._meta.db_table + (f" AS {alias}" if alias else "")
    names = ", ".join(f'"{name}"' for name in columns)
    source, arrays = unnest_rows(model, columns, rows)
    with binding_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {source}{tail}",  # noqa: S608
            arrays,
            prepare=prepared(rows),
        )


def _update_orders(shard_id: int, updates: list[tuple[Any, ...]]) -> None:
    """Apply fills, cancels and amends to orders placed in earlier batches. An amended
    order's size is its earlier fills plus `amended` (this batch's fills up to the amend
    and the size it was left with)."""
    if connection.vendor == "postgresql":
        # typed as the order's columns; "size" carries `amended`. Joined on the order's
        # one key (its id, unique across shards): with the shard's condition beside it, a
        # table without statistics was planned as a hash of every order of the shard, in
        # every batch
        source, arrays = unnest_rows(models.Order, ORDER_UPDATE_COLUMNS, updates)
        with binding_cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE engine_order AS o SET
                    filled = o.filled + s.filled,
                    remaining = s.remaining,
                    status = s.status,
                    reason = CASE WHEN s.reason = '' THEN o.reason ELSE s.reason END,
                    price = COALESCE(s.price, o.price),
                    size = COALESCE(o.filled + s.size, o.size),
                    updated_seq = s.updated_seq
                FROM {source}
                WHERE o.order_id = s.order_id
                """,  # noqa: S608 - only placeholders are interpolated
                arrays,
                prepare=prepared(updates),
            )
        return
    for order_id, filled, remaining, status, reason, price, amended, seq in updates:
        values: dict[str, Any] = {
            "filled": F("filled") + filled,
            "remaining": remaining,
            "status": status,
            "updated_seq": seq,
        }
        if reason:
            values["reason"] = reason
        if price is not None:
            values["price"] = price
        if amended is not None:
            values["size"] = F("filled") + amended
        models.Order.objects.filter(shard_id=shard_id, order_id=order_id).update(**values)
