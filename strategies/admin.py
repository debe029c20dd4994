from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_celery_beat.models import PeriodicTask

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
    readonly_fields = [field.name for field in Strategy._meta.fields] + ["schedule_rows"]
    inlines = [StrategyRunInline, StrategyEventInline]
    actions = ["stop_strategies"]

    @admin.display(description="Armed triggers")
    def schedule_rows(self, strategy: Strategy) -> str:
        """Links to the strategy's BUY and SELL rows in django-celery-beat, with their instants."""
        rows = PeriodicTask.objects.filter(name__startswith=f"strategy:{strategy.pk}:").select_related("clocked")
        links = [
            format_html(
                '<a href="{}">{}</a> at {}',
                reverse("admin:django_celery_beat_periodictask_change", args=[row.pk]),
                row.name.split(":")[2],
                timezone.localtime(row.clocked.clocked_time).strftime("%Y-%m-%d %H:%M:%S IST") if row.clocked else "-",
            )
            for row in rows.order_by("clocked__clocked_time")
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((link,) for link in links)) or "none"

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
