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

# Fanning one price out to a thousand sockets allocates many short-lived objects; with the
# default thresholds a full collection lands in the middle of a fan-out every few seconds and
# adds 100-170 ms to it. Objects alive after start-up are frozen out of collection, and young
# collections run less often.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
