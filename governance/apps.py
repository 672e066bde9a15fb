from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery's autodiscovery looks for governance.tasks only; each room keeps its own tasks.
        from .kyc import receivers  # noqa: F401  (connects them)
        from .memberships import tasks as membership_tasks  # noqa: F401
        from .proposals import tasks as proposal_tasks  # noqa: F401
