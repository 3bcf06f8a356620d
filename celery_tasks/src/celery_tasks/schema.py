"""Contract schema snapshots and the compatibility gate.

A snapshot stores, per contract, its name, version, fingerprint and the JSON schemas of
its argument, result and progress models (``progress`` is null for a contract without one).
``check`` compares the live contracts with a snapshot and classifies every difference.
The rules, change by change, are in ``schema_rules``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.errors import ContractError
from celery_tasks.schema_rules import Change, compare_model, compare_progress

__all__ = ("Change", "ContractReport", "SnapshotError", "check", "compare", "contract_snapshot", "export")


class SnapshotError(ContractError):
    """Raised when a snapshot cannot be read."""


@dataclass(frozen=True)
class ContractReport:
    """The verdict for one contract."""

    name: str
    old_version: int | None
    new_version: int | None
    changes: tuple[Change, ...]
    fingerprint_changed: bool

    @property
    def breaking(self) -> list[Change]:
        """The breaking changes."""
        return [change for change in self.changes if change.verdict == "breaking"]

    @property
    def errors(self) -> list[str]:
        """Why this contract fails the gate (empty when it passes)."""
        if self.new_version is None:
            return [f"{self.name}: contract removed (breaking: producers and consumers still use it)"]
        if self.old_version is None:
            return []
        if self.new_version < self.old_version:
            return [f"{self.name}: version went down from {self.old_version} to {self.new_version}"]
        if self.breaking and self.new_version == self.old_version:
            return [
                f"{change.describe()} -- bump {self.name}.version to {self.old_version + 1}" for change in self.breaking
            ]
        return []


def contract_snapshot(contract: type[Contract[Any, Any]]) -> dict[str, Any]:
    """The snapshot document of one contract."""
    progress = contract.Progress
    return {
        "name": contract.name,
        "version": contract.version,
        "min_version": contract.accepted_versions().start,
        "fingerprint": contract.fingerprint,
        "args": contract.Args.model_json_schema(),
        "result": contract.Result.model_json_schema(),
        "progress": None if progress is None else progress.model_json_schema(),
    }


def export(contracts: Iterable[type[Contract[Any, Any]]], directory: Path) -> list[Path]:
    """Write one JSON snapshot per contract into ``directory``; remove snapshots of removed contracts."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for contract in contracts:
        path = directory / f"{contract.name}.json"
        path.write_text(json.dumps(contract_snapshot(contract), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    for stale in set(directory.glob("*.json")) - set(written):
        stale.unlink()
    return written


def load_directory(directory: Path) -> dict[str, dict[str, Any]]:
    """Snapshots from a folder, by contract name."""
    if not directory.is_dir():
        raise SnapshotError(f"no snapshot folder at {directory}: run `celery-tasks schema export` first")
    return {doc["name"]: doc for doc in (_read_json(path) for path in sorted(directory.glob("*.json")))}


def load_git_ref(ref: str, directory: Path) -> dict[str, dict[str, Any]]:
    """Snapshots as committed at a git revision, by contract name."""
    anchor = directory if directory.is_dir() else directory.parent
    top = Path(_git(["rev-parse", "--show-toplevel"], anchor).strip())
    relative = directory.resolve().relative_to(top.resolve()).as_posix()
    listing = _git(["ls-tree", "--name-only", f"{ref}:{relative}"], top)
    snapshots = {}
    for name in listing.split():
        if name.endswith(".json"):
            doc = json.loads(_git(["show", f"{ref}:{relative}/{name}"], top))
            snapshots[doc["name"]] = doc
    return snapshots


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> ContractReport:
    """Classify every difference between two snapshot documents of one contract."""
    name = (new or old or {})["name"]
    changes: list[Change] = []
    if old is not None and new is not None:
        for side in ("args", "result"):
            changes += compare_model(name, side, old[side], new[side], old[side], new[side], "")
        changes += compare_progress(name, old.get("progress"), new.get("progress"))
    return ContractReport(
        name=name,
        old_version=None if old is None else int(old["version"]),
        new_version=None if new is None else int(new["version"]),
        changes=tuple(changes),
        fingerprint_changed=old is not None and new is not None and old["fingerprint"] != new["fingerprint"],
    )


def check(
    contracts: Sequence[type[Contract[Any, Any]]], snapshots: Mapping[str, Mapping[str, Any]]
) -> list[ContractReport]:
    """Reports for every contract, live or in the snapshot."""
    live = {contract.name: contract_snapshot(contract) for contract in contracts}
    return [compare(snapshots.get(name), live.get(name)) for name in sorted(set(live) | set(snapshots))]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc}") from None
    return document


def _git(args: list[str], cwd: Path) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise SnapshotError(f"git {' '.join(args)} failed: {detail.strip()}") from None
