"""WebSocket routes. `/ws/status/` arrives with the live-market work (execution app)."""

websocket_urlpatterns: list = []
