"""The user's broker accounts: connect (validate and store), list, delete."""

from django.db.models import ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from algotrader.api_errors import ApiError
from brokers.adapters.base import BrokerAuthError, BrokerRejected, BrokerUnavailable, Credentials
from brokers.models import BrokerAccount
from brokers.serializers import BrokerAccountSerializer, ConnectedSerializer, ConnectSerializer
from brokers.services import broker_connect


@extend_schema(request=ConnectSerializer, responses={200: ConnectedSerializer})
@api_view(["POST"])
def connect(request: Request) -> Response:
    serializer = ConnectSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    credentials = Credentials(
        api_key=data["api_key"],
        api_secret=data["api_secret"],
        access_token=data["access_token"],
        request_token=data["request_token"],
        client_id=data["client_id"],
    )
    try:
        account = broker_connect(
            user=request.user, broker=data["broker"], credentials=credentials, egress_proxy=data["egress_proxy"]
        )
    except (BrokerAuthError, BrokerRejected) as error:
        raise ApiError("BROKER_AUTH_FAILED", f"The broker rejected these credentials: {error.message}") from None
    except BrokerUnavailable as error:
        raise ApiError(
            "BROKER_UNAVAILABLE",
            f"The broker could not be reached; try again shortly. ({error.message})",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        ) from None
    return Response({"status": "connected", "broker_valid": True, "account": BrokerAccountSerializer(account).data})


@extend_schema(responses={200: BrokerAccountSerializer(many=True)})
@api_view(["GET"])
def account_list(request: Request) -> Response:
    accounts = BrokerAccount.objects.owned_by(request.user)
    return Response(BrokerAccountSerializer(accounts, many=True).data)


@extend_schema(responses={204: None})
@api_view(["DELETE"])
def account_delete(request: Request, account_id: str) -> Response:
    account = get_object_or_404(BrokerAccount.objects.owned_by(request.user), pk=account_id)
    try:
        account.delete()
    except ProtectedError:
        raise ApiError(
            "BROKER_IN_USE",
            "Strategies use this broker account; delete them or move them to another account first.",
            status_code=status.HTTP_409_CONFLICT,
        ) from None
    return Response(status=status.HTTP_204_NO_CONTENT)
