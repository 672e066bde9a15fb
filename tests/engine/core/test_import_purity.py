import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_importing_engine_core_imports_no_framework() -> None:
    # given a fresh interpreter
    code = (
        "import sys, engine.core\n"
        "bad = [m for m in ('django', 'celery', 'web3', 'rest_framework') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    # when it imports the engine core
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    # then neither Django nor any other framework came with it
    assert result.stdout.strip() == ""


def test_engine_core_source_has_no_float_clock_or_randomness() -> None:
    forbidden = ("float(", "time.time(", "datetime.now(", "random.")
    for path in (ROOT / "engine" / "core").glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip().startswith("#"):
                continue
            for word in forbidden:
                assert word not in line, f"{path.name}:{number} uses {word}"
