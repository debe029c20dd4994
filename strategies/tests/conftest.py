from decimal import Decimal

import pytest

from brokers.models import BrokerAccount
from strategies.models import Instrument, Strategy
from strategies.tests.factories import StrategyFactory


@pytest.fixture(autouse=True)
def _nse_calendar(settings):
    settings.MARKET_CALENDAR = "NSE"


@pytest.fixture
def instruments(db) -> dict[str, Instrument]:
    """TCS as the shipped list has it, and a made-up instrument traded in lots of 25 with a
    tick of 0.10, for the lot- and tick-size rules."""
    rows = {
        "TCS": {"name": "TATA CONSULTANCY SERV LT", "tick_size": Decimal("0.05"), "lot_size": 1},
        "INFY": {"name": "INFOSYS", "tick_size": Decimal("0.05"), "lot_size": 1},
        "LOTTY": {"name": "LOT SIZED LTD", "tick_size": Decimal("0.10"), "lot_size": 25},
    }
    return {
        symbol: Instrument.objects.update_or_create(exchange="NSE", symbol=symbol, defaults=values)[0]
        for symbol, values in rows.items()
    }


@pytest.fixture
def alice_paper(alice) -> BrokerAccount:
    return BrokerAccount.objects.create(user=alice, broker="paper", client_id="PAPER-X", status="connected")


@pytest.fixture
def bob_paper(bob) -> BrokerAccount:
    return BrokerAccount.objects.create(user=bob, broker="paper", client_id="PAPER-B", status="connected")


@pytest.fixture
def strategy(alice_paper, instruments) -> Strategy:
    return StrategyFactory(broker_account=alice_paper)
