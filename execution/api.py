"""The order log of a strategy and the kill switch, for the signed-in user only: another user's
strategy is a 404."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from execution import services
from execution.models import Order
from execution.serializers import KillSwitchResultSerializer, OrderSerializer
from strategies.models import Strategy


@extend_schema(responses={200: OrderSerializer(many=True)})
@api_view(["GET"])
def strategy_orders(request: Request, strategy_id: str) -> Response:
    strategy = get_object_or_404(Strategy.objects.owned_by(request.user), pk=strategy_id)
    orders = Order.objects.owned_by(request.user).filter(strategy=strategy).order_by("created_at")
    return Response(OrderSerializer(orders, many=True).data)


@extend_schema(request=None, responses={200: KillSwitchResultSerializer})
@api_view(["POST"])
def kill_switch(request: Request) -> Response:
    result = services.kill_switch(user=request.user, actor=request.user)
    return Response(KillSwitchResultSerializer(result).data)
