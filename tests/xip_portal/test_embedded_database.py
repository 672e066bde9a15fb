"""The embedded default's one SQLite file is shared by the server's threads, beat's and the
chain's: a transaction that reads and then writes waits for another writer to finish, as
on PostgreSQL, rather than failing at once with "database is locked" (SQLite refuses to
wait in a transaction that began by reading, as that could deadlock)."""

from tests.engine.service.test_embedded_demo import run_embedded

SCRIPT = """
import threading
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.db import connection, transaction
from xip_portal.models import Institution
writing, read = threading.Event(), threading.Event()
errors = []

def writer():
    with transaction.atomic():
        Institution.objects.create(name="A", slug="a")
        writing.set()
        read.wait(2)  # the other transaction reads meanwhile, if it can begin
    connection.close()

def reader_then_writer():
    writing.wait()
    try:
        with transaction.atomic():
            Institution.objects.count()
            read.set()
            Institution.objects.create(name="B", slug="b")
    except Exception as exc:
        errors.append(str(exc))
    connection.close()

threads = [threading.Thread(target=writer), threading.Thread(target=reader_then_writer)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors, sorted(Institution.objects.values_list("slug", flat=True)))
"""


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path):
    assert run_embedded(SCRIPT, tmp_path)[-1] == "[] ['a', 'b']"
