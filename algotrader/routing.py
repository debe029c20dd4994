"""WebSocket routes."""

from django.urls import path

from execution.consumers import StatusConsumer

websocket_urlpatterns = [
    path("ws/status/", StatusConsumer.as_asgi()),
]
