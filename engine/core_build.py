"""Compile the engine core with mypyc, into a directory of its own.

    python -m engine.core_build [OUT]      (default OUT: build/engine-core)

The pure Python source stays the reference: nothing is written next to it, so tests,
Django and anything importing `engine.core` normally run the source. A process that wants
the compiled engine puts OUT first on `sys.path` (the benchmark's `--compiled OUT`). OUT
also receives SOURCE_HASH, the hash of the sources it was built from, so a stale build
can be told apart from a current one. Beside the core it builds `engine.hugepages`
(engine/hugepages.c), which a shard's writer uses to keep the engine's objects on huge
pages; without the build the writer keeps Python's own arenas.

This build tool lives beside the core, not in it: the core stays a pure library.
"""

import hashlib
import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "engine-core"


# beside the core, built with it: the writer's arenas on huge pages (engine.sequencer)
HUGE_PAGES = ROOT / "engine" / "hugepages.c"


def engine_sources() -> list[Path]:
    return sorted((ROOT / "engine" / "core").glob("*.py"))


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in [*engine_sources(), HUGE_PAGES]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(out: Path) -> None:
    from mypyc.build import mypycify

    # setuptools ships no type hints; it is only the build driver here
    setuptools = importlib.import_module("setuptools")

    out.mkdir(parents=True, exist_ok=True)
    # the project's mypy config loads Django plugins; the engine core needs none. A cache
    # of its own lets `make test` type-check the project while this builds.
    config = out / "mypy.ini"
    config.write_text(
        f"[mypy]\nstrict = True\npython_version = 3.11\ncache_dir = {out / 'mypy-cache'}\n"
    )
    os.chdir(ROOT)
    sources = [str(path.relative_to(ROOT)) for path in engine_sources()]
    setuptools.setup(
        name="engine-core-compiled",
        packages=[],
        ext_modules=[
            *mypycify(
                ["--config-file", str(config), *sources], opt_level="3", target_dir=str(out / "c")
            ),
            setuptools.Extension("engine.hugepages", [str(HUGE_PAGES.relative_to(ROOT))]),
        ],
        script_args=[
            "--quiet",
            "build_ext",
            "--build-lib",
            str(out),
            "--build-temp",
            str(out / "tmp"),
        ],
    )
    (out / "engine" / "__init__.py").write_text("")
    (out / "SOURCE_HASH").write_text(source_hash())


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_OUT)
