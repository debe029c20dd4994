"""Strategies of the signed-in user: create, list, read, change, delete, start, stop, status;
and the instrument search that feeds the symbol picker. Every query is scoped to the user,
so another user's strategy is a 404."""

import uuid
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import connection, models
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.generics import get_object_or_404
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import bearer_user_id
from accounts.models import User
from algotrader.api_errors import ApiError
from algotrader.redis import redis_client
from execution import runtime
from strategies import services
from strategies.calendar import market_calendar
from strategies.models import Instrument, Strategy, StrategyRun
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
ModelT = TypeVar("ModelT", bound=models.Model)


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


@extend_schema(operation_id="strategy_status_retrieve", responses={200: StrategyStatusSerializer})
@api_view(["GET"])
def strategy_status_reference(request: Request, strategy_id: str) -> Response:
    strategy = _own_strategy(request, strategy_id)
    [snapshot] = services.strategy_snapshots([strategy], with_last_action=True)
    return Response(StrategyStatusSerializer(snapshot.status_data(market_calendar())).data)


async def strategy_status(request: HttpRequest, strategy_id: uuid.UUID) -> HttpResponse:
    """`strategy_status_reference`'s answer for less CPU: the app polls this every few seconds
    per strategy on screen (bench/README.md, "Status API at 200 requests/s").

    A 200 is built here: the token checked as JWTAuthentication checks it, then the user, the
    strategy (scoped to that user) and its latest run in one SQL query and the price and
    runtime in one Redis round trip, all on a single hop to a thread, with no DRF request
    or view in between. Every other answer (no or bad token, an inactive user, another
    user's strategy, OPTIONS) comes from the DRF view itself, so errors stay exactly the
    API's."""
    user_id = bearer_user_id(request) if request.method == "GET" else None
    if user_id is not None:
        found = await sync_to_async(_status_of_own_strategy)(user_id=user_id, strategy_id=strategy_id)
        if found is not None:
            request.user, body = found
            return HttpResponse(body, content_type="application/json")
    return await sync_to_async(strategy_status_reference)(request, strategy_id=strategy_id)


# The OpenAPI schema and CSRF see the DRF view: same operation, same exemption.
strategy_status.cls = strategy_status_reference.cls  # type: ignore[attr-defined]
strategy_status.initkwargs = strategy_status_reference.initkwargs  # type: ignore[attr-defined]
strategy_status.csrf_exempt = True  # type: ignore[attr-defined]


# Made once: a new serializer deep-copies its fields (a third of the CPU of building a body,
# profiled); it keeps no state between representations.
_STATUS_SERIALIZER = StrategyStatusSerializer()


def _select(model: type[models.Model], alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


# Only an active user's own, undeleted strategy is found; its latest run as in
# services.strategy_snapshots (session dates are unique per strategy). Only the models' own
# table and column names go into the text; the ids are parameters.
_STATUS_SQL = f"""
    SELECT {_select(User, "u")}, {_select(Strategy, "s")}, {_select(StrategyRun, "r")}
    FROM {Strategy._meta.db_table} s
    JOIN {User._meta.db_table} u ON u.id = s.user_id AND u.is_active
    LEFT JOIN LATERAL (
        SELECT * FROM {StrategyRun._meta.db_table} WHERE strategy_id = s.id ORDER BY session_date DESC LIMIT 1
    ) r ON true
    WHERE s.id = %s AND s.user_id = %s AND s.deleted_at IS NULL
"""  # noqa: S608


def _from_row(model: type[ModelT], row: tuple, start: int) -> tuple[ModelT, int]:
    """The instance made from row[start:...] as the ORM makes it, and where the next one starts."""
    end = start + len(model._meta.concrete_fields)
    return model.from_db(connection.alias, None, row[start:end]), end


def _status_of_own_strategy(*, user_id: uuid.UUID, strategy_id: uuid.UUID) -> tuple[User, bytes] | None:
    """The user and the rendered status, or None when the user or their strategy is not found."""
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_SQL, [strategy_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user, end = _from_row(User, row, 0)
    strategy, end = _from_row(Strategy, row, end)
    run, _ = _from_row(StrategyRun, row, end)
    if run.pk is None:  # no run yet: the LEFT JOIN's columns are all NULL
        run = None
    else:
        run.strategy = strategy
    pipe = redis_client().pipeline(transaction=False)
    pipe.get(runtime.price_key(strategy.symbol))
    pipe.hget(runtime.runtime_key(strategy.id), "last_action")
    raw_price, runtime_action = pipe.execute()
    snapshot = services.StrategySnapshot(
        strategy=strategy,
        run=run,
        last_price=runtime.parse_price(raw_price),
        last_action=services.last_action(run, runtime_action=runtime_action),
    )
    return user, JSONRenderer().render(_STATUS_SERIALIZER.to_representation(snapshot.status_data(market_calendar())))


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
