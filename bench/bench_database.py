"""A fresh PostgreSQL database for a benchmark, made before Django is set up."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_database_configure(default_name: str) -> str:
    """Drop and create BENCH_DATABASE (default `default_name`) on DATABASE_URL's server,
    point DATABASE_URL at it, and pass `--compiled DIR` on as ENGINE_CORE_BUILD."""
    import psycopg

    sys.path.insert(0, str(ROOT))
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = os.environ.get("BENCH_DATABASE", default_name)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xip_portal.settings.test")
    if "--compiled" in sys.argv:
        build = Path(sys.argv[sys.argv.index("--compiled") + 1]).resolve()
        os.environ["ENGINE_CORE_BUILD"] = str(build)
    return name
