"""Print the seconds each test file took, longest first, from the JUnit XML of a test run.

usage: python scripts/test_times.py [--write tests/durations.json] LOGS/system_tests_....xml [...]

`scripts/run_tests.sh` writes one XML per step beside its log; a test's time there includes its
setup and teardown, so a module-scoped fixture counts in the file that uses it. With ``--write``
the per-file seconds also go to a JSON file: ``tests/durations.json`` is what ``tests/conftest.py``
reads to start the longest system-test files first.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree


def file_of(classname: str) -> str:
    """Return the test module of a JUnit classname such as ``tests.test_x.TestY``."""
    parts = classname.split(".")
    for index, part in enumerate(parts):
        if part.startswith("test_"):
            return "/".join(parts[: index + 1]) + ".py"
    return classname


def seconds_per_file(paths: list[str]) -> tuple[dict[str, float], dict[str, int]]:
    """Sum the test times and count the tests per file over every XML given."""
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for path in paths:
        for case in ElementTree.parse(path).getroot().iter("testcase"):  # noqa: S314 (pytest's own report)
            name = file_of(case.get("classname", ""))
            seconds[name] += float(case.get("time", "0"))
            counts[name] += 1
    return dict(seconds), dict(counts)


def main() -> None:
    """Print the per-file times, longest first; write them as JSON when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="also write {file: seconds} to this JSON file")
    parser.add_argument("xml", nargs="+")
    options = parser.parse_args()
    seconds, counts = seconds_per_file(options.xml)
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    for name, spent in ranked:
        print(f"{spent:8.1f} s  {counts[name]:4d} tests  {name}")
    print(f"{sum(seconds.values()):8.1f} s  {sum(counts.values()):4d} tests  in all")
    if options.write:
        table = {name.removeprefix("tests/"): round(spent, 1) for name, spent in ranked}
        options.write.write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
