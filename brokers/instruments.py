"""The NSE equity instruments Algotrader ships with, read from Kite's instrument-dump CSV format.

The paper broker trades exactly these; the strategies app loads the same file into its
Instrument table. `last_price` in the file is a reference price: where the paper market
starts a symbol before any feed has priced it.
"""

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

SHIPPED_CSV = Path(__file__).resolve().parent / "data" / "nse_equity.csv"


@dataclass(frozen=True)
class ShippedInstrument:
    symbol: str
    token: int
    name: str
    tick_size: Decimal
    lot_size: int
    reference_price: Decimal


@cache
def shipped_instruments() -> dict[str, ShippedInstrument]:
    """The shipped instruments by trading symbol, read once per process."""
    with SHIPPED_CSV.open(newline="") as handle:
        return {
            row["tradingsymbol"]: ShippedInstrument(
                symbol=row["tradingsymbol"],
                token=int(row["instrument_token"]),
                name=row["name"],
                tick_size=Decimal(row["tick_size"]),
                lot_size=int(row["lot_size"]),
                reference_price=Decimal(row["last_price"]),
            )
            for row in csv.DictReader(handle)
        }
