"""Export the monorepo as separate git repositories: the contract package, the libraries, and one per service.

Seed 004's layout: ``celery-tasks`` holds the shared contract package; every service repository
(``producer``, ``consumer-crawler``, ...) adds it as a git submodule at ``celery_tasks/`` with
``git submodule add``, and its ``pyproject.toml`` points the ``celery-tasks`` dependency at that
path. The small workspace libraries (``broker-admin``, ``task-storage``) are exported the same
way: a repository each, added as a submodule where a member depends on them. A dependency that
a submodule already brings (``broker_admin`` inside ``celery_tasks/``) is used from there, so
every package is installed from one path.

The development tools (``devtools/``, ``celery-tasks-devtools``) are a dev-only need, never a
run-time one: besides their own repository, every repository whose ``dev`` group lists them gets
a copy at ``devtools/`` whose sources point at the paths that repository has (``..`` for itself).
A library they need that the repository lacks becomes a dev-only submodule, marked ``update =
none`` in the contract repository so that it never nests into a service (there: ``git submodule
update --init --checkout task_storage``). The libraries that need no workspace package stay
stand-alone: their export drops the tools from their ``dev`` group.

A service is then built and tested from its own clone::

    python deploy/export_repos.py /tmp/export              # from the committed HEAD
    git clone --recurse-submodules /tmp/export/consumer-etl
    cd consumer-etl && uv sync && uv run pytest           # or: uv pip install -e . --group dev

Contract update flow: commit the change in ``celery-tasks``, then in each service repository
``git submodule update --remote celery_tasks && git commit -am "contract: ..."``; deploy the
consumers first, the producer last.

The script only uses git and the standard library. The submodule URLs recorded in ``.gitmodules``
are the exported repositories' ``file://`` URLs unless ``--contract-url`` names the hosted contract one.
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
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_DIR = "celery_tasks"
SUBMODULE_PATH = "celery_tasks"
DEVTOOLS = "celery-tasks-devtools"
DEVTOOLS_DIR = "devtools"
AUTHOR = ["-c", "user.name=celery-tasks export", "-c", "user.email=export@celery-tasks.invalid"]
# git refuses file:// submodules unless told otherwise (CVE-2022-39253); only for this export.
ALLOW_FILE = ["-c", "protocol.file.allow=always"]
WORKSPACE_SOURCE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\s*=\s*\{\s*workspace\s*=\s*true\s*\}\s*$", re.MULTILINE)
GITIGNORE = ".venv/\n__pycache__/\n*.pyc\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n.env\n*.db\ndist/\nbuild/\n"


class ExportError(RuntimeError):
    """Raised when the monorepo cannot be exported as asked."""


@dataclass(frozen=True)
class Member:
    """A workspace member: its folder, its distribution name, its run-time and its dev-only workspace needs."""

    folder: str
    name: str
    needs: tuple[str, ...] = ()
    dev: tuple[str, ...] = ()


def git(*args: str, cwd: Path) -> str:
    """Run git; return its output, raising ExportError with git's message on failure."""
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ExportError(f"git {' '.join(args)} failed in {cwd}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def requirement_name(requirement: str) -> str:
    """The distribution name a requirement string names (``celery-tasks[metrics]>=1`` -> ``celery-tasks``)."""
    match = re.match(r"[A-Za-z0-9_.-]+", requirement.strip())
    return match[0].lower().replace("_", "-") if match else ""


def workspace_members(source: Path, ref: str) -> list[Member]:
    """The workspace members listed in the root pyproject.toml at ``ref``, each after what it needs."""
    root = tomllib.loads(git("show", f"{ref}:pyproject.toml", cwd=source))
    found: dict[str, Member] = {}
    for folder in root["tool"]["uv"]["workspace"]["members"]:
        text = git("show", f"{ref}:{folder}/pyproject.toml", cwd=source)
        project = tomllib.loads(text)["project"]
        runtime = {requirement_name(dep) for dep in project.get("dependencies", [])}
        sources = [match["name"] for match in WORKSPACE_SOURCE.finditer(text)]
        needs = tuple(n for n in sources if n in runtime)
        found[project["name"]] = Member(folder, project["name"], needs, tuple(n for n in sources if n not in runtime))
    ordered: list[Member] = []
    while len(ordered) < len(found):
        ready = [m for m in found.values() if m not in ordered and all(found[n] in ordered for n in m.needs)]
        if not ready:
            raise ExportError("the workspace members depend on each other in a cycle")
        ordered.extend(ready)
    return ordered


def dependency_paths(member: Member, members: dict[str, Member]) -> dict[str, str]:
    """Where each workspace member that ``member`` needs lives in its repository (directly or transitively).

    A direct dependency gets a submodule at its own folder, unless another submodule already
    brings it: then the copy inside that submodule is used (one path per package).
    """
    inside: dict[str, str] = {}
    for name in member.needs:
        for nested, path in dependency_paths(members[name], members).items():
            inside.setdefault(nested, f"{members[name].folder}/{path}")
    paths = {name: inside.get(name, members[name].folder) for name in member.needs}
    return inside | paths


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


def point_at_submodules(pyproject: Path, paths: dict[str, str], dev: dict[str, str | None]) -> None:
    """Make the workspace sources resolve to paths in the repository (run-time ``paths``, dev-only ``dev``).

    A dev-only need mapped to None is dropped from the ``dev`` group with its source.
    """
    text = pyproject.read_text(encoding="utf-8")
    missing = set(paths)

    def source(match: re.Match[str]) -> str:
        name = match["name"]
        where = paths.get(name) or dev.get(name)
        if where is None and name not in dev:
            raise ExportError(f"{pyproject}: no exported repository for {name}")
        missing.discard(name)
        return f'{name} = {{ path = "{where}", editable = true }}' if where else ""

    text = WORKSPACE_SOURCE.sub(source, text)
    for name in (n for n, where in dev.items() if where is None):
        text = re.sub(rf'"{re.escape(name)}",\s*', "", text)
    parsed = tomllib.loads(text)
    if "workspace" in str(parsed.get("tool", {}).get("uv", {})):
        raise ExportError(f"{pyproject} still refers to the workspace")
    dependencies = parsed["project"].get("dependencies", [])
    for name in set(paths) - missing:
        if not any(re.match(rf"{re.escape(name)}\b", dep) for dep in dependencies):
            raise ExportError(f"{pyproject} does not depend on {name}")
    pyproject.write_text(text, encoding="utf-8")


def vendor_devtools(source: Path, ref: str, tools: Member, repo: Path, paths: dict[str, str]) -> None:
    """Copy the development tools into ``repo/devtools``, their sources pointed at ``paths`` (seen from there)."""
    extract(source, ref, tools.folder, repo / DEVTOOLS_DIR)
    pyproject = repo / DEVTOOLS_DIR / "pyproject.toml"
    text = WORKSPACE_SOURCE.sub(
        lambda match: f'{match["name"]} = {{ path = "{paths[match["name"]]}", editable = true }}',
        pyproject.read_text(encoding="utf-8"),
    )
    if "workspace" in str(tomllib.loads(text).get("tool", {}).get("uv", {})):
        raise ExportError(f"{pyproject} still refers to the workspace")
    pyproject.write_text(text, encoding="utf-8")


def service_readme(member: Member) -> str:
    """README of an exported service repository."""
    return f"""# {member.name}

Exported from the celery-tasks monorepo. The task contracts live in the `celery-tasks`
repository, included here as a git submodule at `{SUBMODULE_PATH}/` (beside the other workspace
libraries this service uses, each a submodule too). `{DEVTOOLS_DIR}/` is a copy of the development
tools (the pytest plugin), installed only with the `dev` group.

    git clone --recurse-submodules <url of this repository>
    uv sync && uv run pytest                       # or
    uv venv && uv pip install -e . --group dev && .venv/bin/pytest

Contract update flow: after a change in `celery-tasks`,

    git submodule update --remote {SUBMODULE_PATH}
    git commit -am "contract: <what changed>"

and roll out the consumers before the producer.
"""


def export(source: Path, output: Path, ref: str = "HEAD", contract_url: str | None = None) -> dict[str, Path]:
    """Export every workspace member into its own repository in ``output``; returns their paths."""
    source = source.resolve()
    output = output.resolve()
    commit = git("rev-parse", "--short", ref, cwd=source)
    if output.exists() and any(output.iterdir()):
        raise ExportError(f"{output} is not empty")
    output.mkdir(parents=True, exist_ok=True)
    ordered = workspace_members(source, ref)
    if not any(m.folder == CONTRACT_DIR for m in ordered):
        raise ExportError(f"the workspace has no {CONTRACT_DIR} member")
    members = {m.name: m for m in ordered}

    needed = {name for m in ordered for name in m.needs}
    repositories: dict[str, Path] = {}
    for member in ordered:
        repo = output / member.name
        extract(source, ref, member.folder, repo)
        paths = dependency_paths(member, members)
        dev: dict[str, str | None] = dict.fromkeys(member.dev)
        extra: tuple[str, ...] = ()  # libraries only the vendored tools need: dev-only submodules
        if DEVTOOLS in member.dev and (member.needs or member.name not in needed):
            tools = members[DEVTOOLS]
            extra = tuple(n for n in tools.needs if n != member.name and n not in paths)
            paths = dependency_paths(replace(member, needs=member.needs + extra), members)
            seen = {n: ".." if n == member.name else f"../{paths[n]}" for n in tools.needs}
            vendor_devtools(source, ref, tools, repo, seen)
            dev[DEVTOOLS] = DEVTOOLS_DIR
        point_at_submodules(repo / "pyproject.toml", {name: paths[name] for name in member.needs}, dev)
        (repo / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        if not (repo / "README.md").exists():
            (repo / "README.md").write_text(service_readme(member), encoding="utf-8")
        git("init", "--quiet", "--initial-branch=main", cwd=repo)
        for name in member.needs + extra:
            folder = members[name].folder
            if paths[name] != folder:
                continue  # brought by another submodule
            git(
                *ALLOW_FILE,
                "submodule",
                "--quiet",
                "add",
                "--name",
                folder,
                repositories[name].as_uri(),
                folder,
                cwd=repo,
            )
            if contract_url and folder == CONTRACT_DIR:  # the hosted URL for clones
                git("config", "--file", ".gitmodules", f"submodule.{folder}.url", contract_url, cwd=repo)
            if name in extra and member.name in needed:  # dev-only, in a repository others include: never nests
                git("config", "--file", ".gitmodules", f"submodule.{folder}.update", "none", cwd=repo)
        git("add", "--all", cwd=repo)
        what = f"export of {member.folder}/" if member.folder == CONTRACT_DIR or not member.needs else "export"
        git(
            *AUTHOR,
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            f"{member.name}: {what} from the monorepo at {commit}",
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
