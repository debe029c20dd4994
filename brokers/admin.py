from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from brokers.models import BrokerAccount


@admin.register(BrokerAccount)
class BrokerAccountAdmin(admin.ModelAdmin):
    """Support sees which accounts work and can mark one invalid; no secret is ever shown."""

    list_display = ["user", "broker", "status", "masked_api_key", "client_id", "validated_at", "token_expires_at"]
    list_filter = ["broker", "status"]
    search_fields = ["user__email", "client_id"]
    list_select_related = ["user"]
    # The encrypted fields are left out of every form: the admin can neither read nor set them.
    fields = [
        "user",
        "broker",
        "status",
        "status_message",
        "masked_api_key",
        "client_id",
        "validated_at",
        "token_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["mark_invalid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are connected by their owners, through the broker

    def has_change_permission(self, request: HttpRequest, obj: BrokerAccount | None = None) -> bool:
        return False

    def has_mark_invalid_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("brokers.mark_brokeraccount_invalid")

    @admin.action(description="Mark as invalid (the user must reconnect)", permissions=["mark_invalid"])
    def mark_invalid(self, request: HttpRequest, queryset: QuerySet[BrokerAccount]) -> None:
        for account in queryset:
            account.mark(BrokerAccount.Status.INVALID, f"Marked invalid by support ({request.user}).")
        self.message_user(request, f"{queryset.count()} account(s) marked invalid.", messages.SUCCESS)

    @admin.display(description="API key")
    def masked_api_key(self, obj: BrokerAccount) -> str:
        return obj.masked_api_key
