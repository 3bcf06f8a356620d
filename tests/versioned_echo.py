"""diagnostics.echo after a breaking change (version 2), and a consumer implementing it.

Run as a script, this is the upgraded consumer of the rolling-upgrade test: it records each task
it runs in the file named by ECHO_V2_LEDGER.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery_tasks.runtime.worker import run_worker
from celery_tasks.tasks import diagnostics
from pydantic import Field


class EchoCompatibleArgs(diagnostics.EchoArgs):
    """A field added with a default: a compatible change."""

    colour: str = Field("red")


class EchoCompatible(diagnostics.Echo):
    """What a newer producer has after a compatible change (same version)."""

    Args = EchoCompatibleArgs


class EchoV2Args(diagnostics.EchoArgs):
    """A required field added: a breaking change."""

    language: str


class EchoV2(diagnostics.Echo):
    """diagnostics.echo version 2."""

    version = 2
    Args = EchoV2Args


class EchoV2Worker(EchoV2):
    """The upgraded consumer's implementation."""

    def run(self, args: EchoV2Args) -> diagnostics.EchoResult:
        """Echo in the requested language and record the task id."""
        with Path(os.environ["ECHO_V2_LEDGER"]).open("a", encoding="utf-8") as ledger:
            ledger.write(f"{self.request.id}\n")
        return diagnostics.EchoResult(text=f"[{args.language}] {args.text}", number=args.number, worker="v2")


if __name__ == "__main__":
    run_worker([EchoV2Worker], service="echo-v2", argv=["--pool=solo"])
