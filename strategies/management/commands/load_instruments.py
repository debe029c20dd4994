"""Fills `Instrument` from the shipped NSE equity list (paper) or from Kite's `/instruments`
(MARKET_DATA_SOURCE=zerodha). Safe to run again: it upserts, and a failed load changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from strategies.instruments import (
    InstrumentListError,
    InstrumentRow,
    rows_from_csv,
    rows_from_kite,
    shipped_csv_path,
    upsert_instruments,
)
from strategies.models import Instrument


class Command(BaseCommand):
    help = "Load or refresh the tradable instruments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", help="Load this Kite-format CSV instead of the configured source.")

    def handle(self, *args: object, **options: object) -> None:
        try:
            rows = self._rows(options.get("csv"))
            count = upsert_instruments(Instrument, rows)
        except (OSError, InstrumentListError) as error:
            raise CommandError(f"Instruments not loaded, the table is unchanged: {error}") from None
        self.stdout.write(f"Loaded {count} instruments.")

    def _rows(self, csv_path: object) -> list[InstrumentRow]:
        if csv_path:
            with open(str(csv_path), encoding="utf-8") as handle:
                return rows_from_csv(handle.read())
        if settings.MARKET_DATA_SOURCE == "zerodha":
            return self._rows_from_kite()
        return rows_from_csv(shipped_csv_path().read_text(encoding="utf-8"))

    def _rows_from_kite(self) -> list[InstrumentRow]:
        import requests
        from kiteconnect import KiteConnect
        from kiteconnect.exceptions import KiteException

        if not settings.MARKET_DATA_API_KEY or not settings.MARKET_DATA_ACCESS_TOKEN:
            raise CommandError("MARKET_DATA_API_KEY and MARKET_DATA_ACCESS_TOKEN are needed to load from Kite.")
        kite = KiteConnect(api_key=settings.MARKET_DATA_API_KEY, root=settings.KITE_API_ROOT)
        kite.set_access_token(settings.MARKET_DATA_ACCESS_TOKEN)
        try:
            return rows_from_kite(kite.instruments("NSE"))
        except (KiteException, requests.RequestException) as error:
            raise InstrumentListError(f"Kite refused the instrument list: {error}") from None
