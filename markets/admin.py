from django.contrib import admin

from .models import Asset, Market, MarketChange, MarketStatusChange


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin[Asset]):
    list_display = ["symbol", "name", "decimals"]
    search_fields = ["symbol", "name"]


class MarketStatusChangeInline(admin.TabularInline[MarketStatusChange, Market]):
    model = MarketStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "created_at"]

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin[Market]):
    """Read-only: markets are listed by Final XIPs and moved by the operators' services."""

    list_display = ["symbol", "market_type", "risk_group", "status", "config_hash"]
    list_filter = ["market_type", "status", "risk_group"]
    search_fields = ["symbol"]
    inlines = [MarketStatusChangeInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(MarketChange)
class MarketChangeAdmin(admin.ModelAdmin[MarketChange]):
    list_display = ["market", "kind", "effective_at", "applied_at"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
