from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from execution import services
from execution.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only for support: the order log is evidence, written only by the order path."""

    list_display = [
        "requested_at",
        "user",
        "symbol",
        "event",
        "side",
        "quantity",
        "status",
        "average_price",
        "latency_ms",
        "needs_attention",
    ]
    list_filter = ["status", "event", "needs_attention"]
    search_fields = ["user__email", "symbol", "broker_order_id", "tag", "strategy__id"]
    list_select_related = ["user"]
    readonly_fields = [field.name for field in Order._meta.fields]
    date_hierarchy = "requested_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.action(description="Kill switch: stop all strategies of the selected users and exit their positions")
def kill_switch_users(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """An action for the user admin (the accounts app registers it: add it to UserAdmin.actions).
    Staff who may stop strategies may pull it; each stop is recorded as done by them."""
    if not request.user.has_perm("strategies.stop_strategy"):
        modeladmin.message_user(request, "You may not stop users' strategies.", messages.ERROR)
        return
    stopped = exits = 0
    for user in queryset:
        result = services.kill_switch(user=user, actor=request.user)
        stopped, exits = stopped + result["stopped"], exits + result["exits"]
    modeladmin.message_user(
        request, f"Kill switch: {stopped} strategy(ies) stopped, {exits} exit(s) queued.", messages.WARNING
    )
