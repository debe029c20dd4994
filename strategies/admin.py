from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from algotrader.api_errors import ApiError
from strategies.models import Instrument, Strategy, StrategyEvent, StrategyRun, TradingHoliday
from strategies.services import strategy_stop


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class StrategyRunInline(ReadOnlyInline):
    model = StrategyRun
    fields = ["session_date", "position", "entry_price", "exit_price", "exit_reason", "realised_pnl"]
    readonly_fields = fields


class StrategyEventInline(ReadOnlyInline):
    """The audit trail: who did what, never editable, not even by superusers."""

    model = StrategyEvent
    fields = ["created_at", "kind", "actor_type", "actor", "data"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ["symbol", "user", "status", "buy_time", "sell_time", "stop_loss", "quantity", "deleted_at"]
    list_filter = ["status", "symbol", "recurrence", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["symbol", "user__email", "id"]
    list_select_related = ["user"]
    # Strategies change through their owner's requests (validated, audited), never by form edits.
    readonly_fields = [field.name for field in Strategy._meta.fields]
    inlines = [StrategyRunInline, StrategyEventInline]
    actions = ["stop_strategies"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Strategy | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Strategy | None = None) -> bool:
        return False

    def has_stop_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("strategies.stop_strategy")

    @admin.action(description="Stop the selected strategies", permissions=["stop"])
    def stop_strategies(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        stopped = 0
        for strategy in queryset:
            try:
                strategy_stop(strategy=strategy, actor=request.user)
            except ApiError:
                continue  # already stopped, completed or failed
            stopped += 1
        self.message_user(request, f"{stopped} strategy(ies) stopped.", messages.SUCCESS)


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["symbol", "exchange", "name", "tick_size", "lot_size", "instrument_token"]
    list_filter = ["exchange"]
    search_fields = ["symbol", "name"]


@admin.register(TradingHoliday)
class TradingHolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "exchange", "description", "session_open", "session_close"]
    list_filter = ["exchange"]
    date_hierarchy = "date"
