from django.urls import path

from strategies import api

urlpatterns = [
    path("strategy/create", api.strategy_create, name="strategy-create"),
    path("strategy/start", api.strategy_start, name="strategy-start"),
    path("strategy/stop", api.strategy_stop, name="strategy-stop"),
    path("strategy/<uuid:strategy_id>/start", api.strategy_start_by_path, name="strategy-start-path"),
    path("strategy/<uuid:strategy_id>/stop", api.strategy_stop_by_path, name="strategy-stop-path"),
    path("strategy/status/<uuid:strategy_id>", api.strategy_status, name="strategy-status"),
    path("strategies", api.strategy_list, name="strategy-list"),
    path("strategies/<uuid:strategy_id>", api.strategy_detail, name="strategy-detail"),
    path("instruments", api.instrument_search, name="instrument-search"),
]
