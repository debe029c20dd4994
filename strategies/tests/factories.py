from datetime import time
from decimal import Decimal

import factory

from strategies.models import Strategy


class StrategyFactory(factory.django.DjangoModelFactory):
    """BUY 10 TCS at 09:30, SELL at 15:15, stop-loss 3500; pass broker_account (it names the user)."""

    class Meta:
        model = Strategy

    user = factory.SelfAttribute("broker_account.user")
    symbol = "TCS"
    buy_time = time(9, 30)
    sell_time = time(15, 15)
    stop_loss = Decimal("3500.00")
    quantity = 10
