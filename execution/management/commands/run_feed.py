"""`manage.py run_feed`: the market feed (execution/feed.py), until SIGTERM or SIGINT."""

import asyncio

from django.core.management.base import BaseCommand, CommandError, CommandParser

from execution.feed import FeedFailed, FeedGateway, configured_source


class Command(BaseCommand):
    help = (
        "Streams ticks of the symbols of running strategies from MARKET_DATA_SOURCE (the simulated paper "
        "market or KiteTicker) to the Channels channel `ticks`, until SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-seconds",
            type=float,
            default=None,
            help="A subscribed symbol with no tick for this long is stale (default: FEED_STALE_SECONDS, or 10).",
        )

    def handle(self, *args: object, stale_seconds: float | None, **options: object) -> None:
        try:
            asyncio.run(FeedGateway(configured_source(), stale_seconds=stale_seconds).run())
        except FeedFailed as error:
            raise CommandError(str(error)) from error
