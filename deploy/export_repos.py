"""Export the monorepo as separate git repositories: the contract package, and one per service.

Seed 004's layout: ``celery-tasks`` holds the shared contract package; every service repository
(``producer``, ``consumer-crawler``, ...) adds it as a git submodule at ``celery_tasks/`` with
``git submodule add``, and its ``pyproject.toml`` points the ``celery-tasks`` dependency at that
path. A service is then built and tested from its own clone::

    python deploy/export_repos.py /tmp/export              # from the committed HEAD
    git clone --recurse-submodules /tmp/export/consumer-etl
    cd consumer-etl && uv sync && uv run pytest           # or: pip install -e ./celery_tasks -e ./devtools -e .

Contract update flow: commit the change in ``celery-tasks``, then in each service repository
``git submodule update --remote celery_tasks && git commit -am "contract: ..."``; deploy the
consumers first, the producer last.

The development tools (``devtools/``, distribution ``celery-tasks-devtools``: the pytest plugin,
the fake news site, the process runner) are exported as their own repository too, and every
repository whose ``dev`` group lists them gets a copy of them at ``devtools/`` (committed files,
pointing at the contract beside them), so that ``uv sync`` installs them from the clone and not
from an index. No service lists them as a run-time dependency.

The script only uses git and the standard library. The submodule URL recorded in ``.gitmodules``
is the exported contract repository's ``file://`` URL unless ``--contract-url`` names the hosted one.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_DIR = "celery_tasks"
SUBMODULE_PATH = "celery_tasks"
AUTHOR = ["-c", "user.name=celery-tasks export", "-c", "user.email=export@celery-tasks.invalid"]
# git refuses file:// submodules unless told otherwise (CVE-2022-39253); only for this export.
ALLOW_FILE = ["-c", "protocol.file.allow=always"]
WORKSPACE_SOURCE = re.compile(r"^celery-tasks\s*=\s*\{\s*workspace\s*=\s*true\s*\}\s*$", re.MULTILINE)
SUBMODULE_SOURCE = f'celery-tasks = {{ path = "{SUBMODULE_PATH}", editable = true }}'
DEVTOOLS_DIR = "devtools"
WORKSPACE_DEVTOOLS = re.compile(r"^celery-tasks-devtools\s*=\s*\{\s*workspace\s*=\s*true\s*\}\s*$", re.MULTILINE)
DEVTOOLS_SOURCE = f'celery-tasks-devtools = {{ path = "{DEVTOOLS_DIR}", editable = true }}'
GITIGNORE = ".venv/\n__pycache__/\n*.pyc\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n.env\n*.db\ndist/\nbuild/\n"


class ExportError(RuntimeError):
    """Raised when the monorepo cannot be exported as asked."""


@dataclass(frozen=True)
class Member:
    """A workspace member: its folder in the monorepo and its distribution name (the repository's name)."""

    folder: str
    name: str


def git(*args: str, cwd: Path) -> str:
    """Run git; return its output, raising ExportError with git's message on failure."""
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ExportError(f"git {' '.join(args)} failed in {cwd}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def workspace_members(source: Path, ref: str) -> list[Member]:
    """The workspace members listed in the root pyproject.toml at ``ref``."""
    root = tomllib.loads(git("show", f"{ref}:pyproject.toml", cwd=source))
    members = []
    for folder in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads(git("show", f"{ref}:{folder}/pyproject.toml", cwd=source))
        members.append(Member(folder, project["project"]["name"]))
    return members


def extract(source: Path, ref: str, folder: str, target: Path) -> None:
    """Write the files of ``folder`` at ``ref`` into ``target`` (committed content only, no build junk)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, folder], cwd=source, capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise ExportError(f"git archive {ref} {folder}: {archive.stderr.decode(errors='replace').strip()}")
    target.mkdir(parents=True)
    prefix = folder.rstrip("/") + "/"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for entry in tar.getmembers():
            if not entry.name.startswith(prefix) or not (entry.isfile() or entry.isdir()):
                continue
            entry.name = entry.name[len(prefix) :]
            if entry.name:
                tar.extract(entry, target, filter="data")


def vendor_devtools(source: Path, ref: str, repo: Path, contract_path: str) -> None:
    """Copy the development tools into ``repo/devtools`` when its dev group lists them; point both at the contract."""
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if not WORKSPACE_DEVTOOLS.search(text):
        return
    pyproject.write_text(WORKSPACE_DEVTOOLS.sub(DEVTOOLS_SOURCE, text), encoding="utf-8")
    extract(source, ref, DEVTOOLS_DIR, repo / DEVTOOLS_DIR)
    copied = repo / DEVTOOLS_DIR / "pyproject.toml"
    contract_source = f'celery-tasks = {{ path = "{contract_path}", editable = true }}'
    copied.write_text(WORKSPACE_SOURCE.sub(contract_source, copied.read_text(encoding="utf-8")), encoding="utf-8")
    if "workspace" in copied.read_text(encoding="utf-8"):
        raise ExportError(f"{copied} still refers to the workspace")


def point_at_submodule(pyproject: Path) -> None:
    """Make the service's celery-tasks dependency resolve to the submodule instead of the workspace."""
    text = pyproject.read_text(encoding="utf-8")
    if WORKSPACE_SOURCE.search(text):
        text = WORKSPACE_SOURCE.sub(SUBMODULE_SOURCE, text)
    elif "[tool.uv.sources]" in text:
        text = text.replace("[tool.uv.sources]", f"[tool.uv.sources]\n{SUBMODULE_SOURCE}", 1)
    else:
        text = text.rstrip("\n") + f"\n\n[tool.uv.sources]\n{SUBMODULE_SOURCE}\n"
    parsed = tomllib.loads(text)
    if "workspace" in str(parsed.get("tool", {}).get("uv", {})):
        raise ExportError(f"{pyproject} still refers to the workspace")
    if not any(re.match(r"celery-tasks\b", dep) for dep in parsed["project"].get("dependencies", [])):
        raise ExportError(f"{pyproject} does not depend on celery-tasks")
    pyproject.write_text(text, encoding="utf-8")


def service_readme(member: Member) -> str:
    """README of an exported service repository."""
    return f"""# {member.name}

Exported from the celery-tasks monorepo. The task contracts live in the `celery-tasks`
repository, included here as a git submodule at `{SUBMODULE_PATH}/`.

    git clone --recurse-submodules <url of this repository>
    uv sync && uv run pytest                       # or
    python -m venv .venv && .venv/bin/pip install -e ./{SUBMODULE_PATH} -e ./{DEVTOOLS_DIR} -e . pytest pytest-timeout

Contract update flow: after a change in `celery-tasks`,

    git submodule update --remote {SUBMODULE_PATH}
    git commit -am "contract: <what changed>"

and roll out the consumers before the producer.
"""


def init_repository(path: Path, message: str) -> str:
    """git init, add everything, commit; returns the commit id."""
    git("init", "--quiet", "--initial-branch=main", cwd=path)
    git("add", "--all", cwd=path)
    git(*AUTHOR, "commit", "--quiet", "--no-verify", "-m", message, cwd=path)
    return git("rev-parse", "HEAD", cwd=path)


def export(source: Path, output: Path, ref: str = "HEAD", contract_url: str | None = None) -> dict[str, Path]:
    """Export the contract repository and one repository per service into ``output``; returns their paths."""
    source = source.resolve()
    output = output.resolve()
    commit = git("rev-parse", "--short", ref, cwd=source)
    if output.exists() and any(output.iterdir()):
        raise ExportError(f"{output} is not empty")
    output.mkdir(parents=True, exist_ok=True)
    members = workspace_members(source, ref)
    contract = next((m for m in members if m.folder == CONTRACT_DIR), None)
    if contract is None:
        raise ExportError(f"the workspace has no {CONTRACT_DIR} member")

    contract_repo = output / contract.name
    extract(source, ref, contract.folder, contract_repo)
    vendor_devtools(source, ref, contract_repo, "..")
    (contract_repo / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    init_repository(contract_repo, f"{contract.name}: export of {contract.folder}/ from the monorepo at {commit}")
    local_url = contract_repo.as_uri()

    repositories = {contract.name: contract_repo}
    for member in members:
        if member is contract:
            continue
        repo = output / member.name
        extract(source, ref, member.folder, repo)
        vendor_devtools(source, ref, repo, f"../{SUBMODULE_PATH}")
        point_at_submodule(repo / "pyproject.toml")
        (repo / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        if not (repo / "README.md").exists():
            (repo / "README.md").write_text(service_readme(member), encoding="utf-8")
        git("init", "--quiet", "--initial-branch=main", cwd=repo)
        git(*ALLOW_FILE, "submodule", "--quiet", "add", "--name", SUBMODULE_PATH, local_url, SUBMODULE_PATH, cwd=repo)
        if contract_url:  # the hosted URL for clones; the local copy was only the source of this export
            git("config", "--file", ".gitmodules", f"submodule.{SUBMODULE_PATH}.url", contract_url, cwd=repo)
        git("add", "--all", cwd=repo)
        git(
            *AUTHOR,
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            f"{member.name}: export from the monorepo at {commit}",
            cwd=repo,
        )
        repositories[member.name] = repo
    return repositories


def main(argv: list[str] | None = None) -> int:
    """Command line: export_repos.py OUTPUT [--ref REF] [--contract-url URL]."""
    parser = argparse.ArgumentParser(
        description="Export the monorepo as a contract repository and service repositories."
    )
    parser.add_argument("output", type=Path, help="empty (or new) folder for the repositories")
    parser.add_argument("--source", type=Path, default=ROOT, help="the monorepo (default: this one)")
    parser.add_argument("--ref", default="HEAD", help="commit to export (default HEAD: committed files only)")
    parser.add_argument("--contract-url", help="URL recorded for the submodule (default: the exported file:// path)")
    args = parser.parse_args(argv)
    if shutil.which("git") is None:
        print("export_repos: git is not installed", file=sys.stderr)
        return 2
    try:
        repositories = export(args.source, args.output, args.ref, args.contract_url)
    except ExportError as exc:
        print(f"export_repos: {exc}", file=sys.stderr)
        return 1
    for name, path in repositories.items():
        print(f"{name:<22} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
