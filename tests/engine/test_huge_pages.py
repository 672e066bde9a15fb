"""A shard writer's process keeps Python's small objects on huge pages when the compiled
build is there (engine/hugepages.c, built by `make engine-core`; `make test` builds it, so
CI runs this): a million small objects made after a writer starts lie mostly on 2 MiB pages,
and freeing them and making others reuses the memory. Skipped without a current build or
where Linux's transparent huge pages are off."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.core.test_compiled_equivalence import BUILD, ROOT, build_is_current

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def thp_mode() -> str:
    """The selected mode of transparent huge pages (always, madvise, never), "" unknown."""
    if not THP.exists():
        return ""
    selected = re.search(r"\[(\w+)\]", THP.read_text())
    return selected.group(1) if selected else ""


# a process of its own: made with or without the writer's huge pages, a million small
# objects (about 100 MB), then freed and made again; how much of its memory was on huge
# pages (kB) before, with the first million and with the second
PROBE = """
import json, sys
import django
django.setup()
from engine.sequencer import huge_pages_use

def huge_kb():
    with open("/proc/self/smaps_rollup") as rollup:
        return sum(int(line.split()[1]) for line in rollup if line.startswith("AnonHugePages"))

before = huge_kb()
used = huge_pages_use() if sys.argv[1] == "writer" else False
objects = [[n, -n] for n in range(1_000_000)]
first = huge_kb()
del objects
objects = [(n, str(n)) for n in range(1_000_000)]
second = huge_kb()
print(json.dumps({"used": used, "before": before, "first": first, "second": second,
                  "count": len(objects)}))
"""


def probe(mode: str) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=ROOT,
        env={**os.environ, "ENGINE_CORE_BUILD": str(BUILD)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.skipif(not build_is_current(), reason="no current build: run make engine-core")
@pytest.mark.skipif(thp_mode() not in ("always", "madvise"), reason="no transparent huge pages")
def test_a_writers_objects_lie_on_huge_pages():
    # given a process that starts a writer's huge pages, and one that does not
    writer = probe("writer")
    plain = probe("plain")
    # then the writer's million objects lie mostly on huge pages, and again once remade
    assert writer["used"] and writer["count"] == 1_000_000
    assert writer["first"] - writer["before"] >= 48 * 1024
    assert writer["second"] - writer["before"] >= 48 * 1024
    # while Python's own arenas get them only where the system gives them to every mapping
    if thp_mode() == "madvise":
        assert not plain["used"]
        assert plain["first"] - plain["before"] < 8 * 1024
