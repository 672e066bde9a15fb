from django.apps import AppConfig


class ChainConfig(AppConfig):
    """The on-chain side of the engine room, its own app (label `chain`) with its own tables."""

    name = "engine.chain"
    label = "chain"
    verbose_name = "Chain"
    default_auto_field = "django.db.models.BigAutoField"
