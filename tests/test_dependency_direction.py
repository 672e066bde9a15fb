"""Dependencies run one way between the project's rooms (../shared/ARCHITECTURE.md).

The import graph is read from the source with `ast`: top-level, function-local and
type-checking imports alike, tests excluded. A room may import its own modules and those of
the rooms below it; an import of a higher room, and so any cycle between rooms, fails here.
Where a lower room must react to a higher one, the higher one calls down or a signal is sent.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("xip_portal", "governance", "markets", "engine", "trading")

# Bottom to top. A module belongs to the room of its longest matching prefix.
ROOMS = (
    "engine.core",  # pure: imports nothing of the project
    "xip_portal",
    "governance.risk_groups",
    "engine",  # the engine service and engine.chain: plumbing, shards are risk groups
    "governance.memberships",
    "governance.kyc",  # a KYC approval grants a membership: kyc calls down
    "markets",
    "governance.proposals",  # a Final XIP lists a market or creates a risk group: calls down
    "trading",
    # The governance app's shell: app config, admin, the models index Django loads, the URL
    # includes, template tags and the demo seed. It gathers the rooms; no room imports it.
    "governance",
)
RANK = {room: rank for rank, room in enumerate(ROOMS)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[_module_name(path)] = path
    return modules


MODULES = project_modules()


def room_of(module: str) -> str:
    candidates = [room for room in ROOMS if module == room or module.startswith(room + ".")]
    if not candidates:
        raise AssertionError(f"{module} belongs to no room; add its package to ROOMS.")
    return max(candidates, key=len)


def imports_of(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported project module) for every import statement anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from package import module` imports the module; `from module import name`
            # imports the module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target:
                yield node.lineno, target


def room_edges() -> dict[tuple[str, str], set[str]]:
    """(from room, to room) -> where, for every import that crosses rooms."""
    edges: dict[tuple[str, str], set[str]] = {}
    for module, path in MODULES.items():
        source = room_of(module)
        for line, target in imports_of(module, path):
            if "migrations" in module.split("."):
                continue
            destination = room_of(target)
            if destination != source:
                where = f"{path.relative_to(ROOT)}:{line} imports {target}"
                edges.setdefault((source, destination), set()).add(where)
    return edges


def test_the_scan_sees_the_project() -> None:
    # A scan that found nothing would pass everything.
    assert {"xip_portal.models", "governance.proposals.services", "markets.services"} <= set(
        MODULES
    )
    assert room_edges(), "no import between rooms was found"


def test_no_room_imports_a_higher_one() -> None:
    upward = [
        f"{source} -> {destination}: {where}"
        for (source, destination), places in sorted(room_edges().items())
        if RANK[destination] > RANK[source]
        for where in sorted(places)
    ]
    assert upward == [], "Imports against the dependency order:\n" + "\n".join(upward)


def test_no_cycle_between_rooms() -> None:
    # Independent of the order above: the rooms' import graph has no cycle.
    graph: dict[str, set[str]] = {}
    for source, destination in room_edges():
        graph.setdefault(source, set()).add(destination)
    state: dict[str, str] = {}

    def visit(room: str, trail: list[str]) -> None:
        state[room] = "open"
        for nxt in sorted(graph.get(room, ())):
            if state.get(nxt) == "open":
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [room, nxt]
                raise AssertionError("Cycle between rooms: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[room] = "done"

    for room in sorted(graph):
        if room not in state:
            visit(room, [room])


def test_engine_core_imports_nothing_of_the_project() -> None:
    outside = [
        f"{module} imports {target}"
        for module, path in MODULES.items()
        if room_of(module) == "engine.core"
        for _, target in imports_of(module, path)
        if room_of(target) != "engine.core"
    ]
    assert outside == []
