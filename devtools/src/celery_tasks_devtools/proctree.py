"""Process trees read from /proc: descendants, resident memory and CPU time (benchmarks and fault drills)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Direct child processes of a process (from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _process_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/<pid>/stat after the command name) of every process still there."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat.rsplit(")", 1)[1].split()


def children_of(pid: int) -> list[int]:
    """Every descendant of a process (scanning /proc)."""
    parents: dict[int, list[int]] = {}
    for child, fields in _process_stats():
        parents.setdefault(int(fields[1]), []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for child in parents.get(current, []):
            found.append(child)
            todo.append(child)
    return found


def group_alive(pgid: int) -> bool:
    """True while a live (not zombie) process of the process group exists (this machine's init may not reap orphans)."""
    return any(int(fields[2]) == pgid and fields[0] != "Z" for _, fields in _process_stats())


def tree(pid: int) -> list[int]:
    """A process and its descendants."""
    return [pid, *children_of(pid)]


def _status_kib(pid: int, field: str) -> int:
    """A ``VmXxx:`` line of /proc/<pid>/status in KiB (0 when the process is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    return _status_kib(pid, "VmRSS") * 1024


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its direct children (a prefork worker and its pool)."""
    return rss_bytes(pid) + sum(rss_bytes(child) for child in children(pid))


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of one process, in MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def tree_peak_rss_mib(pid: int) -> float:
    """Sum of the peak resident memory of a process tree, in MiB (shared pages counted in each process)."""
    return sum(peak_rss_mib(p) for p in tree(pid))


def own_peak_rss_mib() -> float:
    """Peak resident memory of this process, in MiB."""
    return peak_rss_mib(os.getpid())


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process tree (live processes only)."""
    return sum(cpu_seconds(p) for p in tree(pid))
