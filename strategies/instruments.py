"""Instrument lists: parse Kite's instrument dump (the shipped paper list uses the same CSV
format) and upsert it into `Instrument` in one transaction, so a failed load changes nothing."""

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import models, transaction


@dataclass(frozen=True)
class InstrumentRow:
    exchange: str
    symbol: str
    name: str
    instrument_token: int | None
    tick_size: Decimal
    lot_size: int


class InstrumentListError(ValueError):
    """The list is malformed; nothing was loaded."""


def shipped_csv_path() -> Path:
    """The equity list shipped for paper trading, in Kite's `/instruments` CSV format."""
    return Path(settings.BASE_DIR) / "brokers" / "data" / "nse_equity.csv"


def rows_from_kite(records: Iterable[Mapping[str, object]], exchange: str = "NSE") -> list[InstrumentRow]:
    """Cash-market equities of `exchange` from Kite instrument records (CSV rows or the SDK's
    dicts); derivatives, indices and other segments are skipped because strategies trade
    only equities."""
    rows = []
    for number, record in enumerate(records, start=2):
        if record.get("exchange") != exchange or record.get("segment") != exchange:
            continue
        if record.get("instrument_type") != "EQ":
            continue
        try:
            token = str(record.get("instrument_token") or "").strip()
            row = InstrumentRow(
                exchange=exchange,
                symbol=str(record["tradingsymbol"]).strip().upper(),
                name=str(record.get("name") or "").strip()[:200],
                instrument_token=int(token) if token else None,
                # Kite's SDK hands tick sizes over as floats: str() keeps 0.05 as written.
                tick_size=Decimal(str(record["tick_size"])),
                lot_size=int(record["lot_size"]),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise InstrumentListError(f"Row {number}: {error!r}") from None
        if not row.symbol or row.tick_size <= 0 or row.lot_size <= 0:
            raise InstrumentListError(f"Row {number}: empty symbol or non-positive tick or lot size.")
        rows.append(row)
    return rows


def rows_from_csv(text: str, exchange: str = "NSE") -> list[InstrumentRow]:
    return rows_from_kite(csv.DictReader(io.StringIO(text)), exchange)


def upsert_instruments(model: type[models.Model], rows: list[InstrumentRow]) -> int:
    """Inserts new instruments and updates known ones; never deletes, since strategies refer
    to symbols. Takes the model so data migrations can pass their historical one."""
    if not rows:
        raise InstrumentListError("The list holds no instruments; refusing to load it.")
    # One row per symbol: PostgreSQL refuses an upsert that touches a row twice.
    unique = {(row.exchange, row.symbol): row for row in rows}
    with transaction.atomic():
        model.objects.bulk_create(
            [model(**row.__dict__) for row in unique.values()],
            update_conflicts=True,
            unique_fields=["exchange", "symbol"],
            update_fields=["name", "instrument_token", "tick_size", "lot_size", "updated_at"],
        )
    return len(unique)
