"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")
# Django must be set up before anything imports models (the WebSocket routes do).
django_http = get_asgi_application()

from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402

from algotrader.routing import websocket_urlpatterns  # noqa: E402
from execution.ticks import TickConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http,
        "websocket": URLRouter(websocket_urlpatterns),
        # `manage.py runworker ticks` consumes the feed's tick batches.
        "channel": ChannelNameRouter({"ticks": TickConsumer.as_asgi()}),
    }
)

# Objects alive after start-up are frozen out of collection: with the default settings a full
# collection (all of Django's modules) landed in the middle of a price fan-out every few
# seconds and added 100-170 ms to it. Young collections stay small: each request leaves
# cyclic garbage, and a gen-0 threshold of 50,000 made each young collection free ~48,000
# objects in one 40-100 ms pause, every two seconds at 200 requests/s (bench/README.md,
# "Status API"); at 1,000 the pauses are a few milliseconds and full ones stay rare.
gc.freeze()
gc.set_threshold(1_000, 20, 100)
