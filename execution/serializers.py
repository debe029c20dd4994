from rest_framework import serializers

from execution.models import Order


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "id",
            "event",
            "side",
            "quantity",
            "order_type",
            "status",
            "broker_order_id",
            "average_price",
            "requested_at",
            "placed_at",
            "latency_ms",
            "error",
        ]
        read_only_fields = fields


class KillSwitchResultSerializer(serializers.Serializer):
    stopped = serializers.IntegerField()
    exits = serializers.IntegerField()
