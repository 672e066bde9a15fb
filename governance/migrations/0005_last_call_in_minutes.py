"""A risk group's Last Call window is kept in minutes (windows of a few minutes, as the demo
uses, could not be written in hours); existing windows keep their length."""

from django.db import migrations, models
from django.db.models import F


def hours_to_minutes(apps, schema_editor):
    apps.get_model("governance", "RiskGroup").objects.update(
        last_call_minutes=F("last_call_minutes") * 60
    )


def minutes_to_hours(apps, schema_editor):
    apps.get_model("governance", "RiskGroup").objects.update(
        last_call_minutes=(F("last_call_minutes") + 59) / 60
    )


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_kyc_status_history")]

    operations = [
        migrations.RenameField("riskgroup", "last_call_hours", "last_call_minutes"),
        migrations.RunPython(hours_to_minutes, minutes_to_hours),
        migrations.AlterField(
            model_name="riskgroup",
            name="last_call_minutes",
            field=models.PositiveIntegerField(
                default=10080, help_text="How long a proposal stays in Last Call, in minutes."
            ),
        ),
    ]
