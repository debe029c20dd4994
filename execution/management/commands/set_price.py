"""`manage.py set_price SYMBOL PRICE`: moves the paper market by hand, for tests, demos and support."""

from decimal import Decimal, InvalidOperation

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokers.adapters import paper
from brokers.instruments import shipped_instruments
from execution.feed import TICKS_CHANNEL, Tick, now_ms, ticks_message


class Command(BaseCommand):
    help = (
        "Sets the paper market's price of SYMBOL to PRICE: resting paper orders it crosses fill or trigger, "
        "and the tick goes to the `ticks` channel like one from the feed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("symbol", help="an NSE trading symbol, e.g. INFY")
        parser.add_argument("price", help="in rupees, a multiple of the symbol's tick size, e.g. 1588.75")

    def handle(self, *args: object, symbol: str, price: str, **options: object) -> None:
        symbol = symbol.strip().upper()
        instrument = shipped_instruments().get(symbol)
        if instrument is None:
            raise CommandError(f"Unknown symbol {symbol!r}: not in the shipped NSE instrument list.")
        try:
            value = Decimal(price)
        except InvalidOperation:
            raise CommandError(f"Invalid price {price!r}: expected a number such as 1588.75.") from None
        if not value.is_finite() or value <= 0:
            raise CommandError(f"Invalid price {price!r}: it must be greater than zero.")
        if value % instrument.tick_size:
            raise CommandError(f"Invalid price {price!r}: {symbol} trades in multiples of {instrument.tick_size}.")

        reached = paper.set_price(symbol, value)
        try:
            async_to_sync(get_channel_layer().send)(TICKS_CHANNEL, ticks_message([Tick(symbol, value, now_ms())]))
        except ChannelFull:
            self.stderr.write(f"The `{TICKS_CHANNEL}` channel is full (is the tick worker running?): tick not sent.")
        self.stdout.write(f"{symbol} is now {value}.")
        if reached:
            self.stdout.write(f"Paper orders filled or triggered: {', '.join(reached)}.")
