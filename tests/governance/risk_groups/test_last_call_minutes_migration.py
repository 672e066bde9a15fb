"""Moving the Last Call window from hours to minutes keeps every group's window as long."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("governance", "0004_kyc_status_history")]
AFTER = [("governance", "0005_last_call_in_minutes")]


@pytest.mark.django_db(transaction=True)
def test_a_window_in_hours_becomes_the_same_window_in_minutes() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old_state = executor.loader.project_state(BEFORE).apps
        group = old_state.get_model("governance", "RiskGroup").objects.create(
            name="Old venue", slug="old-venue", kind="permissionless", last_call_hours=72
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        new_state = executor.loader.project_state(AFTER).apps
        migrated = new_state.get_model("governance", "RiskGroup").objects.get(pk=group.pk)
        assert migrated.last_call_minutes == 72 * 60
    finally:
        # The other tests of this process run on the latest schema.
        MigrationExecutor(connection).migrate(latest)
