from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from xip_portal.health import probe_register

        from .chain.health import probe_chain

        probe_register(probe_chain)
