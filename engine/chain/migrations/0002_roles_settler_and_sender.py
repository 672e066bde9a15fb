from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def operator_was_every_role(apps, schema_editor):
    """Before the roles were split the operator settled and sent every transaction; the
    payouts of an existing deployment are scanned from its deployment on."""
    Deployment = apps.get_model("chain", "Deployment")
    ChainTransaction = apps.get_model("chain", "ChainTransaction")
    Deployment.objects.update(settler=F("operator"), payouts_final_block=F("block_number"))
    ChainTransaction.objects.update(
        sender=Subquery(
            Deployment.objects.filter(pk=OuterRef("deployment_id")).values("operator")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [("chain", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="deployment",
            name="operator",
            field=models.CharField(help_text="Registrar, feed admin, deployer.", max_length=42),
        ),
        migrations.AddField(
            model_name="deployment",
            name="settler",
            field=models.CharField(
                default="", help_text="The SettlementLedger's settler.", max_length=42
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="deployment",
            name="payouts_final_block",
            field=models.BigIntegerField(
                default=0, help_text="The vault's payouts up to this block are marked paid."
            ),
        ),
        migrations.AddField(
            model_name="chaintransaction",
            name="sender",
            field=models.CharField(default="", max_length=42),
            preserve_default=False,
        ),
        migrations.RunPython(operator_was_every_role, migrations.RunPython.noop),
    ]
