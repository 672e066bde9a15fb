"""The journal keeps each applied command's time and its compact positional record (what
a recovery replays); journals written before carry the time inside the payload."""

import json

from django.db import migrations, models


def records_from_payloads(apps, schema_editor):
    from engine.core import command_from_dict, command_to_record

    Command = apps.get_model("engine", "Command")
    applied = Command.objects.filter(seq__isnull=False).only("payload")
    for command in applied.iterator(chunk_size=2000):
        applied_command = command_from_dict(command.payload)
        command.ts = applied_command.ts
        command.record = json.dumps(command_to_record(applied_command), separators=(",", ":"))
        command.save(update_fields=["ts", "record"])


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0002_transfers"),
    ]

    operations = [
        migrations.AddField(
            model_name="command",
            name="record",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="command",
            name="ts",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(records_from_payloads, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="command",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("seq__isnull", True),
                    models.Q(("ts__gte", 0), models.Q(("record", ""), _negated=True)),
                    _connector="OR",
                ),
                name="engine_command_applied_has_record",
            ),
        ),
    ]
