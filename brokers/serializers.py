from django.core.validators import URLValidator
from rest_framework import serializers

from brokers.models import BrokerAccount

# What each broker needs to connect, beyond the broker's name. Zerodha takes either a
# ready access token or a one-time request token with the api secret to exchange it.
_REQUIRED = {
    BrokerAccount.Broker.PAPER: [],
    BrokerAccount.Broker.DHAN: ["client_id", "access_token"],
    BrokerAccount.Broker.FYERS: ["api_key", "access_token"],
    BrokerAccount.Broker.ANGELONE: ["api_key", "client_id", "access_token"],
}


class ConnectSerializer(serializers.Serializer):
    broker = serializers.ChoiceField(choices=BrokerAccount.Broker.choices)
    api_key = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")
    api_secret = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")
    access_token = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="")
    request_token = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")
    client_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    egress_proxy = serializers.CharField(
        max_length=512,
        required=False,
        allow_blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https", "socks5", "socks5h"])],
    )

    def validate(self, attrs: dict) -> dict:
        broker = attrs["broker"]
        if broker == BrokerAccount.Broker.ZERODHA:
            required = ["api_key"] + (["api_secret", "request_token"] if not attrs["access_token"] else [])
        else:
            required = _REQUIRED[broker]
        missing = {name: [f"Required to connect {broker}."] for name in required if not attrs[name]}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class BrokerAccountSerializer(serializers.ModelSerializer):
    api_key_masked = serializers.CharField(source="masked_api_key", read_only=True)

    class Meta:
        model = BrokerAccount
        fields = [
            "id",
            "broker",
            "status",
            "status_message",
            "client_id",
            "api_key_masked",
            "validated_at",
            "token_expires_at",
            "created_at",
        ]
        read_only_fields = fields


class ConnectedSerializer(serializers.Serializer):
    status = serializers.CharField()
    broker_valid = serializers.BooleanField()
    account = BrokerAccountSerializer()
