"""Print the seconds each test file took, longest first, from the JUnit XML of a test run.

usage: python scripts/test_times.py LOGS/system_tests_....xml [more.xml ...]

`scripts/run_tests.sh` writes one XML per step beside its log; a test's time there includes its
setup and teardown, so a module-scoped fixture counts in the file that uses it.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict


def file_of(classname: str) -> str:
    """Return the test module of a JUnit classname such as ``tests.test_x.TestY``."""
    parts = classname.split(".")
    for index, part in enumerate(parts):
        if part.startswith("test_"):
            return "/".join(parts[: index + 1]) + ".py"
    return classname


def main(paths: list[str]) -> None:
    """Sum the test times per file over every XML given and print them, longest first."""
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for path in paths:
        for case in ElementTree.parse(path).getroot().iter("testcase"):
            name = file_of(case.get("classname", ""))
            seconds[name] += float(case.get("time", "0"))
            counts[name] += 1
    total = sum(seconds.values())
    for name, spent in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"{spent:8.1f} s  {counts[name]:4d} tests  {name}")
    print(f"{total:8.1f} s  {sum(counts.values()):4d} tests  in all")


if __name__ == "__main__":
    main(sys.argv[1:])
