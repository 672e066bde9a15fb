"""The audit log is append-only in the database too: PostgreSQL refuses UPDATE and DELETE."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION xip_portal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER xip_portal_auditentry_append_only
    BEFORE UPDATE OR DELETE ON xip_portal_auditentry
    FOR EACH ROW EXECUTE FUNCTION xip_portal_audit_append_only();
"""
ALLOW = """
DROP TRIGGER IF EXISTS xip_portal_auditentry_append_only ON xip_portal_auditentry;
DROP FUNCTION IF EXISTS xip_portal_audit_append_only();
"""


def forbid_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID)


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW)


class Migration(migrations.Migration):
    dependencies = [("xip_portal", "0001_initial")]
    operations = [migrations.RunPython(forbid_changes, allow_changes)]
