"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

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
