from django.urls import path

from execution import api

urlpatterns = [
    path("strategies/<uuid:strategy_id>/orders", api.strategy_orders, name="strategy-orders"),
    path("kill-switch", api.kill_switch, name="kill-switch"),
]
