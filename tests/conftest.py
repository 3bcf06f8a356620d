"""Start the longest system-test files first, so the xdist processes finish close together.

`scripts/run_tests.sh` runs the system tests on ``TEST_SYSTEM_WORKERS`` processes (3 by default)
with ``--dist loadfile --no-loadscope-reorder``: each file is one unit of work, handed out in
collection order. This hook sorts the files by the seconds they took in a measured run
(``tests/durations.json``, written by ``scripts/test_times.py --write``), longest first; a file
not listed there counts as 0 s and runs last. Tests inside a file keep their order. The order
is the same in every xdist process, as xdist requires.
"""

import json
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("durations.json")


def measured_seconds() -> dict[str, float]:
    """Return the measured seconds per test file name (empty when the file is missing)."""
    if not DURATIONS.exists():
        return {}
    return {str(name): float(seconds) for name, seconds in json.loads(DURATIONS.read_text()).items()}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the collected tests by their file's measured seconds, longest first (a stable sort)."""
    seconds = measured_seconds()
    items.sort(key=lambda item: -seconds.get(item.path.name, 0.0))
