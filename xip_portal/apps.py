from django.apps import AppConfig


class XipPortalConfig(AppConfig):
    name = "xip_portal"
    verbose_name = "Portal"
    default_auto_field = "django.db.models.BigAutoField"
