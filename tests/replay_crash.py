"""Run the `producer` command with a crash injected into `dlq replay` (tests only).

    python tests/replay_crash.py N:PHASE dlq replay CONTRACT --all

ends the process with ``os._exit(75)`` the N-th time a move reaches PHASE (one of
``producer.dead_letters.PHASES``), through the replay's ``on_phase`` observer: the production
command carries no crash switch of its own.
"""

import functools
import os
import sys

from producer.main import main

from producer import dead_letters

CRASH_EXIT_CODE = 75


class CrashInjector:
    """Ends the process with os._exit at the N-th time a phase is reached."""

    def __init__(self, spec):
        count, _, phase = spec.partition(":")
        if phase not in dead_letters.PHASES or not count.isdigit():
            raise ValueError(
                f"crash spec must look like '3:staged' with a phase among {', '.join(dead_letters.PHASES)}"
            )
        self.target = (int(count), phase)
        self.counts = {}

    def reached(self, phase):
        """Count a phase, and crash when it is the configured one."""
        self.counts[phase] = self.counts.get(phase, 0) + 1
        if self.target == (self.counts[phase], phase):
            sys.stderr.write(f"replay: crash injected after {phase} #{self.counts[phase]}\n")
            sys.stderr.flush()
            os._exit(CRASH_EXIT_CODE)


if __name__ == "__main__":
    spec, *arguments = sys.argv[1:]
    dead_letters.replay = functools.partial(dead_letters.replay, on_phase=CrashInjector(spec).reached)
    sys.argv = ["producer", *arguments]
    main()
