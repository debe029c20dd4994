"""Strategies of the signed-in user: create, list, read, change, delete, start, stop, status;
and the instrument search that feeds the symbol picker. Every query is scoped to the user,
so another user's strategy is a 404."""

from django.db.models import Case, IntegerField, Q, Value, When
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from algotrader.api_errors import ApiError
from strategies import services
from strategies.calendar import market_calendar
from strategies.models import Instrument, Strategy
from strategies.serializers import (
    CreatedStrategySerializer,
    InstrumentSerializer,
    StrategyIdSerializer,
    StrategyInputSerializer,
    StrategyListItemSerializer,
    StrategySerializer,
    StrategyStateSerializer,
    StrategyStatusSerializer,
)

INSTRUMENT_SEARCH_LIMIT = 20


def _strategy_input(request: Request, *, partial: bool) -> dict:
    serializer = StrategyInputSerializer(data=request.data, partial=partial)
    if not serializer.is_valid():
        fields = {name: [str(message) for message in messages] for name, messages in serializer.errors.items()}
        raise ApiError("STRATEGY_INVALID", "The strategy is not valid.", fields=fields)
    # On a partial update only what the request named, not the serializer's defaults.
    return {key: value for key, value in serializer.validated_data.items() if not partial or key in request.data}


def _own_strategy(request: Request, strategy_id: object) -> Strategy:
    return get_object_or_404(Strategy.objects.owned_by(request.user).select_related("broker_account"), pk=strategy_id)


@extend_schema(request=StrategyInputSerializer, responses={201: CreatedStrategySerializer})
@api_view(["POST"])
def strategy_create(request: Request) -> Response:
    strategy = services.strategy_create(user=request.user, data=_strategy_input(request, partial=False))
    return Response(CreatedStrategySerializer(strategy).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: StrategyListItemSerializer(many=True)})
@api_view(["GET"])
def strategy_list(request: Request) -> Response:
    strategies = list(Strategy.objects.owned_by(request.user).select_related("broker_account"))
    for snapshot in services.strategy_snapshots(strategies):
        strategy = snapshot.strategy
        strategy.position, strategy.last_price, strategy.pnl = snapshot.position, snapshot.last_price, snapshot.pnl
    return Response(StrategyListItemSerializer(strategies, many=True).data)


@extend_schema(methods=["GET"], responses={200: StrategySerializer})
@extend_schema(methods=["PATCH"], request=StrategyInputSerializer, responses={200: StrategySerializer})
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "PATCH", "DELETE"])
def strategy_detail(request: Request, strategy_id: str) -> Response:
    strategy = _own_strategy(request, strategy_id)
    if request.method == "PATCH":
        changes = _strategy_input(request, partial=True)
        strategy = services.strategy_update(strategy=strategy, actor=request.user, changes=changes)
    elif request.method == "DELETE":
        services.strategy_delete(strategy=strategy, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(StrategySerializer(strategy).data)


def _strategy_from_body(request: Request) -> Strategy:
    serializer = StrategyIdSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return _own_strategy(request, serializer.validated_data["strategy_id"])


def _state(strategy: Strategy) -> Response:
    return Response(StrategyStateSerializer({"strategy_id": strategy.id, "status": strategy.status}).data)


# The seeds disagree on where the id goes (body or path): both forms are served.
@extend_schema(request=StrategyIdSerializer, responses={200: StrategyStateSerializer})
@api_view(["POST"])
def strategy_start(request: Request) -> Response:
    return _state(services.strategy_start(strategy=_strategy_from_body(request), actor=request.user))


@extend_schema(operation_id="strategy_start_by_path", request=None, responses={200: StrategyStateSerializer})
@api_view(["POST"])
def strategy_start_by_path(request: Request, strategy_id: str) -> Response:
    return _state(services.strategy_start(strategy=_own_strategy(request, strategy_id), actor=request.user))


@extend_schema(request=StrategyIdSerializer, responses={200: StrategyStateSerializer})
@api_view(["POST"])
def strategy_stop(request: Request) -> Response:
    return _state(services.strategy_stop(strategy=_strategy_from_body(request), actor=request.user))


@extend_schema(operation_id="strategy_stop_by_path", request=None, responses={200: StrategyStateSerializer})
@api_view(["POST"])
def strategy_stop_by_path(request: Request, strategy_id: str) -> Response:
    return _state(services.strategy_stop(strategy=_own_strategy(request, strategy_id), actor=request.user))


@extend_schema(responses={200: StrategyStatusSerializer})
@api_view(["GET"])
def strategy_status(request: Request, strategy_id: str) -> Response:
    strategy = _own_strategy(request, strategy_id)
    [snapshot] = services.strategy_snapshots([strategy], with_last_action=True)
    return Response(StrategyStatusSerializer(snapshot.status_data(market_calendar())).data)


@extend_schema(
    parameters=[OpenApiParameter("search", str, description="Start of a symbol, or part of a company name.")],
    responses={200: InstrumentSerializer(many=True)},
)
@api_view(["GET"])
def instrument_search(request: Request) -> Response:
    term = request.query_params.get("search", "").strip()
    instruments = Instrument.objects.all()
    if term:
        instruments = instruments.filter(Q(symbol__istartswith=term) | Q(name__icontains=term)).annotate(
            # Symbols that start with the term first: traders type symbols, not company names.
            rank=Case(When(symbol__istartswith=term, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        instruments = instruments.order_by("rank", "symbol")
    return Response(InstrumentSerializer(instruments[:INSTRUMENT_SEARCH_LIMIT], many=True).data)
