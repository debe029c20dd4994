"""The shape of strategy requests and responses. The trading rules live on the model and in
services.py; these only check types and formats."""

from rest_framework import serializers

from brokers.models import BrokerAccount
from strategies.models import Instrument, Strategy

TIME_FORMAT = "%H:%M:%S"


class StrategyInputSerializer(serializers.Serializer):
    broker = serializers.ChoiceField(choices=BrokerAccount.Broker.choices, required=False)
    exchange = serializers.CharField(max_length=8, default="NSE")
    symbol = serializers.CharField(max_length=40)
    buy_time = serializers.TimeField(input_formats=[TIME_FORMAT, "%H:%M"])
    sell_time = serializers.TimeField(input_formats=[TIME_FORMAT, "%H:%M"])
    stop_loss = serializers.DecimalField(max_digits=12, decimal_places=2)
    quantity = serializers.IntegerField()
    product = serializers.ChoiceField(choices=Strategy.Product.choices, default=Strategy.Product.MIS)
    recurrence = serializers.ChoiceField(choices=Strategy.Recurrence.choices, default=Strategy.Recurrence.ONCE)

    def validate_exchange(self, value: str) -> str:
        return value.strip().upper()

    def validate_symbol(self, value: str) -> str:
        return value.strip().upper()


class StrategySerializer(serializers.ModelSerializer):
    broker = serializers.CharField(source="broker_account.broker", read_only=True)
    buy_time = serializers.TimeField(format=TIME_FORMAT)
    sell_time = serializers.TimeField(format=TIME_FORMAT)

    class Meta:
        model = Strategy
        fields = [
            "id",
            "symbol",
            "exchange",
            "buy_time",
            "sell_time",
            "stop_loss",
            "quantity",
            "product",
            "recurrence",
            "broker",
            "status",
            "created_at",
            "updated_at",
        ]


class CreatedStrategySerializer(StrategySerializer):
    """The strategy, plus `strategy_id` as the seeds' contract names it."""

    strategy_id = serializers.UUIDField(source="id", read_only=True)

    class Meta(StrategySerializer.Meta):
        fields = [*StrategySerializer.Meta.fields, "strategy_id"]


class StrategyListItemSerializer(StrategySerializer):
    position = serializers.CharField(allow_null=True)
    last_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    pnl = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)

    class Meta(StrategySerializer.Meta):
        fields = [*StrategySerializer.Meta.fields, "position", "last_price", "pnl"]


class StrategyIdSerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField()


class StrategyStateSerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField()
    status = serializers.CharField()


class NextTriggersSerializer(serializers.Serializer):
    buy = serializers.DateTimeField(allow_null=True)
    sell = serializers.DateTimeField(allow_null=True)


class StrategyStatusSerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField()
    status = serializers.CharField()
    position = serializers.CharField()
    last_action = serializers.CharField(allow_null=True)
    last_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    pnl = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    entry_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    exit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    exit_reason = serializers.CharField(allow_null=True)
    next_triggers = NextTriggersSerializer()


class InstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instrument
        fields = ["exchange", "symbol", "name", "tick_size", "lot_size"]
