"""Broker adapters by broker name. Modules load on first use: an SDK's import cost (or side
effects) is paid only by processes that talk to that broker."""

from importlib import import_module

from brokers.adapters.base import BrokerAdapter, Credentials

_ADAPTERS = {
    "paper": "brokers.adapters.paper.PaperBroker",
    "zerodha": "brokers.adapters.zerodha.ZerodhaBroker",
    "dhan": "brokers.adapters.dhan.DhanBroker",
    "fyers": "brokers.adapters.fyers.FyersBroker",
    "angelone": "brokers.adapters.angelone.AngelOneBroker",
}


def adapter_class(broker: str) -> type[BrokerAdapter]:
    module_name, class_name = _ADAPTERS[broker].rsplit(".", 1)
    return getattr(import_module(module_name), class_name)


def get_adapter(broker: str, credentials: Credentials, *, proxy: str | None = None) -> BrokerAdapter:
    return adapter_class(broker)(credentials, proxy=proxy)
