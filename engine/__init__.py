"""The engine: the pure core (`engine.core`) and the service around it.

A process started with ENGINE_CORE_BUILD=<dir> (a mypyc build of the core made by
`python -m engine.core_build <dir>`, as `make engine-core` does) imports the compiled
core instead of the source: the build's `engine/core` is searched first, the rest of the
service stays the source. A build made from other sources is refused."""

import os

_build = os.environ.get("ENGINE_CORE_BUILD")
if _build:
    import sys
    from pathlib import Path

    from engine.core_build import source_hash

    _hash_file = Path(_build) / "SOURCE_HASH"
    if not _hash_file.exists() or _hash_file.read_text() != source_hash():
        raise ImportError(f"ENGINE_CORE_BUILD {_build} is missing or stale: make engine-core")
    sys.path.append(_build)  # the build's shared mypyc runtime module
    __path__.insert(0, str(Path(_build) / "engine"))
