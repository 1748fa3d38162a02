"""The shop's loader: land raw CSV rows in the warehouse's ``raw`` schema.

Raw data reaches a warehouse through a loader (Fivetran, Airbyte, a cron job), not
through dbt: that is why every raw row carries ``_loaded_at`` and why dbt's source
freshness can measure it. The loader checks every value before it writes anything, so a
malformed file is reported with its path, line and column and loads nothing. Loading is
replayable: rows whose key is already in the table are skipped, so landing the same batch
twice changes nothing.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from wt06.errors import DataError
from wt06.foundation.tables import LANDING_TABLES, RAW_SCHEMA, RAW_TABLES, RawTable


def _check_int(text: str):
    return int(text)


def _check_decimal(text: str):
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError
    return value


def _check_json(text: str):
    json.loads(text)
    return text


_CHECKS = {
    "int": (_check_int, "a whole number"),
    "decimal": (_check_decimal, "a number"),
    "date": (date.fromisoformat, "a date (YYYY-MM-DD)"),
    "timestamp": (lambda t: datetime.strptime(t, "%Y-%m-%d %H:%M:%S"),
                  "a timestamp (YYYY-MM-DD HH:MM:SS)"),
    "json": (_check_json, "valid JSON"),
    "text": (str, "text"),
}


def read_raw_csv(path: Path, table: RawTable) -> list[tuple]:
    """Parse and check ``path`` against ``table``'s columns; raise DataError naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing: the loader expected it for table {table.qualified}.")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            lines = list(csv.reader(handle, strict=True))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}.") from None
    if not lines:
        raise DataError(f"{path} is empty: expected a header line {','.join(table.column_names)}.")
    header, body = lines[0], lines[1:]
    if header != table.column_names:
        raise DataError(
            f"{path}, line 1: the header is {','.join(header)!r}, "
            f"expected {','.join(table.column_names)!r} for table {table.qualified}."
        )
    rows, keys = [], set()
    for line_no, fields in enumerate(body, start=2):
        if not fields:
            continue  # a blank line
        if len(fields) != len(header):
            raise DataError(
                f"{path}, line {line_no}: {len(fields)} values, expected {len(header)} "
                f"({', '.join(header)})."
            )
        row = []
        for column, text in zip(table.columns, fields):
            check, what = _CHECKS[column.kind]
            if text == "":
                raise DataError(f"{path}, line {line_no}: column {column.name} is empty.")
            try:
                row.append(check(text))
            except (ValueError, InvalidOperation, json.JSONDecodeError):
                raise DataError(
                    f"{path}, line {line_no}: column {column.name} is {text!r}, "
                    f"which is not {what}."
                ) from None
        key = row[table.column_names.index(table.key)]
        if key in keys:
            raise DataError(f"{path}, line {line_no}: {table.key} {key} appears twice in the file.")
        keys.add(key)
        rows.append(tuple(row))
    return rows


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for table in RAW_TABLES.values():
        con.execute(table.ddl())


def load_rows(con: duckdb.DuckDBPyConnection, table: RawTable, rows: list[tuple]) -> int:
    """Insert the rows whose key is not in the table yet; return how many were new."""
    if not rows:
        return 0
    key_index = table.column_names.index(table.key)
    present = {r[0] for r in con.execute(f"select {table.key} from {table.qualified}").fetchall()}
    new = [r for r in rows if r[key_index] not in present]
    if new:
        placeholders = ", ".join("?" for _ in table.columns)
        con.executemany(f"insert into {table.qualified} values ({placeholders})", new)
    return len(new)


def landing_files(day_dir: Path) -> list[tuple[RawTable, Path]]:
    """The files the loader expects for one landing day, checked to exist."""
    day_dir = Path(day_dir)
    expected = [(t, day_dir / f"{t.name}.csv") for t in LANDING_TABLES]
    missing = [str(p) for _, p in expected if not p.is_file()]
    if missing:
        raise DataError(
            f"Landing file missing: {', '.join(missing)}. Every landing day needs "
            f"{', '.join(t.name + '.csv' for t in LANDING_TABLES)}; "
            "restore the data folder with 'git checkout data/'."
        )
    return expected
