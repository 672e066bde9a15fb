from django.contrib import admin

from .models import RiskGroup


@admin.register(RiskGroup)
class RiskGroupAdmin(admin.ModelAdmin[RiskGroup]):
    list_display = ["name", "slug", "kind"]
    search_fields = ["name", "slug"]
