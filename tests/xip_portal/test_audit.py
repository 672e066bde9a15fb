"""The audit log: one entry per change that matters, nothing for a no-op, never rewritten."""

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import InstitutionFactory, UserFactory
from xip_portal.audit import audit_record
from xip_portal.models import AuditEntry
from xip_portal.request_log import current_request_id

pytestmark = pytest.mark.django_db


def test_records_actor_changed_values_reason_and_request() -> None:
    actor, institution = UserFactory(), InstitutionFactory(name="Acme")
    token = current_request_id.set("req-1234567890")
    try:
        entry = audit_record(
            actor=actor,
            action="institution.rename",
            obj=institution,
            old={"name": "Acme", "website": "https://a.test"},
            new={"name": "Acme Ltd", "website": "https://a.test"},
            reason="legal name",
        )
    finally:
        current_request_id.reset(token)

    assert entry is not None
    entry.refresh_from_db()
    assert (entry.actor, entry.action, entry.reason) == (actor, "institution.rename", "legal name")
    assert (entry.object_type, entry.object_id) == ("xip_portal.institution", str(institution.pk))
    assert entry.old_values == {"name": "Acme"}
    assert entry.new_values == {"name": "Acme Ltd"}
    assert entry.request_id == "req-1234567890"


def test_a_change_that_changes_nothing_writes_nothing() -> None:
    institution = InstitutionFactory()

    entry = audit_record(
        actor=None, action="institution.edit", obj=institution, old={"a": 1}, new={"a": 1}
    )

    assert entry is None
    assert not AuditEntry.objects.exists()


def test_entries_cannot_be_changed_or_deleted_through_the_model() -> None:
    entry = audit_record(actor=None, action="x.y", obj=InstitutionFactory(), new={"a": 1})
    assert entry is not None

    with pytest.raises(PermissionError):
        entry.reason = "rewritten"
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_updates_and_deletes_of_entries() -> None:
    audit_record(actor=None, action="x.y", obj=InstitutionFactory(), new={"a": 1})

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.update(reason="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().reason == ""


def test_the_admin_shows_entries_and_offers_no_way_to_change_them(make_staff, login) -> None:
    from xip_portal.models import StaffRole

    audit_record(actor=None, action="x.y", obj=InstitutionFactory(name="Shown"), new={"a": 1})
    client = login(make_staff(StaffRole.SITE_ADMIN))

    listing = client.get("/admin/xip_portal/auditentry/")
    entry = AuditEntry.objects.get()

    assert listing.status_code == 200
    assert "Shown" in listing.content.decode()
    assert client.get("/admin/xip_portal/auditentry/add/").status_code == 403
    assert client.post(f"/admin/xip_portal/auditentry/{entry.pk}/delete/").status_code == 403
