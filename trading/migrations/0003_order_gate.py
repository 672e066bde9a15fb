"""The order gate (trading.models.OrderGate): its one row, and on PostgreSQL the triggers
that move its version when a table the order fast path caches changes. Row triggers on
updates compare the rows without the columns that change all the time (a key's last use,
a user's last login, a market's prices) so that those do not empty every cache."""

from django.db import migrations, models

BUMP = "UPDATE trading_ordergate SET version = version + 1 WHERE id = 1"

# table -> the columns whose changes do not matter to the fast path
WATCHED = {
    "trading_apikey": ("last_used_at", "updated_at"),
    "xip_portal_user": ("last_login", "updated_at"),
    "governance_membership": (),
    "governance_riskgroup": (),
    "markets_market": (),
    "engine_marketview": ("mark", "last_price", "seq"),
}


def _triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # the fast path runs on PostgreSQL only
    statements = [
        "CREATE FUNCTION trading_order_gate_move() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
    ]
    for table, ignored in WATCHED.items():
        unchanged = " - ".join(["to_jsonb(OLD)", *(f"'{column}'" for column in ignored)])
        changed = " - ".join(["to_jsonb(NEW)", *(f"'{column}'" for column in ignored)])
        statements += [
            # rows, not statements: an upsert whose rows all existed inserts none
            f"CREATE TRIGGER {table}_order_gate_rows AFTER INSERT OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trading_order_gate_move()",
            f"CREATE TRIGGER {table}_order_gate_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN (({unchanged}) IS DISTINCT FROM ({changed})) "
            "EXECUTE FUNCTION trading_order_gate_move()",
        ]
    for statement in statements:
        schema_editor.execute(statement)


def _triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in WATCHED:
        schema_editor.execute(f"DROP TRIGGER {table}_order_gate_rows ON {table}")
        schema_editor.execute(f"DROP TRIGGER {table}_order_gate_update ON {table}")
    schema_editor.execute("DROP FUNCTION trading_order_gate_move()")


def _row(apps, schema_editor):
    apps.get_model("trading", "OrderGate").objects.create(pk=1, version=0)


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_idempotent_answer"),
        ("engine", "0005_insurance_and_funding"),
        ("governance", "0006_risk_group_simulated_collateral_faucet"),
        ("markets", "0004_outcome_eliminations"),
        ("xip_portal", "0003_auditentry_risk_group"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderGate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(_row, migrations.RunPython.noop),
        migrations.RunPython(_triggers, _triggers_drop),
    ]
