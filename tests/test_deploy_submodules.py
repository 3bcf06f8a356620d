"""The multi-repo workflow: export the monorepo, clone one service with its contract submodule, test it.

deploy/export_repos.py writes a `celery-tasks` repository and one repository per service, each
adding the contract repository with `git submodule add`. Here consumer-etl is cloned with
`--recurse-submodules` into a fresh folder, installed into a fresh virtual environment from that
clone alone (PyPI for the third-party packages), and its own test suite runs there. Then the
contract update flow: a new contract commit, `git submodule update --remote`, a service commit.
"""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "deploy" / "export_repos.py"
SERVICE = "consumer-etl"
# Workspace members that are libraries, not services: no contract submodule of their own.
LIBRARIES = {"broker-admin", "task-storage"}
ALLOW_FILE = ["-c", "protocol.file.allow=always"]
AUTHOR = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def run(argv, cwd, timeout=300, env=None):
    completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    assert completed.returncode == 0, (
        f"{' '.join(map(str, argv))}\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
    )
    return completed.stdout.strip()


def clean_env():
    """This machine's environment without the workspace's virtualenv or test settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH"} and not k.startswith("CELERY_TASKS_")
    }


def uv_command():
    """This machine's uv: on PATH, or `python3 -m uv` as `make bootstrap` may install it."""
    found = shutil.which("uv")
    if found:
        return [found]
    for python in ("python3", sys.executable):
        if subprocess.run([python, "-m", "uv", "--version"], capture_output=True, check=False).returncode == 0:
            return [python, "-m", "uv"]
    pytest.fail("uv is needed (run `make bootstrap`)")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    output = tmp_path_factory.mktemp("export")
    listing = run([sys.executable, str(EXPORT), str(output)], cwd=ROOT)
    return output, listing


def test_export_makes_a_contract_repository_and_one_per_service(exported):
    output, listing = exported
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    names = {tomllib.loads((ROOT / m / "pyproject.toml").read_text())["project"]["name"] for m in members}
    assert {path.name for path in output.iterdir()} == names
    assert {line.split()[0] for line in listing.splitlines()} == names
    contract_head = run(["git", "rev-parse", "HEAD"], cwd=output / "celery-tasks")
    assert (output / "celery-tasks" / "src" / "celery_tasks" / "contract.py").is_file()
    # The workspace libraries: a repository each, added as a submodule where a member needs one.
    for library in LIBRARIES:
        assert not (output / library / ".gitmodules").exists(), f"{library} needs no other repository"
        assert "workspace" not in (output / library / "pyproject.toml").read_text()
    broker_admin_head = run(["git", "rev-parse", "HEAD"], cwd=output / "broker-admin")
    assert run(["git", "ls-tree", "HEAD", "broker_admin"], cwd=output / "celery-tasks").split()[2] == broker_admin_head
    task_storage_head = run(["git", "rev-parse", "HEAD"], cwd=output / "task-storage")
    assert run(["git", "ls-tree", "HEAD", "task_storage"], cwd=output / SERVICE).split()[2] == task_storage_head
    for name in names - {"celery-tasks"} - LIBRARIES:
        repo = output / name
        assert run(["git", "status", "--porcelain"], cwd=repo) == "", f"{name} has uncommitted files"
        gitmodules = run(["git", "config", "--file", ".gitmodules", "--list"], cwd=repo)
        assert "submodule.celery_tasks.path=celery_tasks" in gitmodules
        assert f"submodule.celery_tasks.url={(output / 'celery-tasks').as_uri()}" in gitmodules
        mode, kind, commit = run(["git", "ls-tree", "HEAD", "celery_tasks"], cwd=repo).split()[:3]
        assert (mode, kind, commit) == ("160000", "commit", contract_head), "celery_tasks is a submodule gitlink"
        pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
        assert pyproject["tool"]["uv"]["sources"]["celery-tasks"] == {"path": "celery_tasks", "editable": True}
        assert "workspace" not in (repo / "pyproject.toml").read_text()
        assert any(dep.startswith("celery-tasks") for dep in pyproject["project"]["dependencies"])
        assert not list(repo.rglob("__pycache__")), "only committed files are exported"


def requirement_names(requirements):
    return {re.match(r"[A-Za-z0-9_.-]+", r)[0].lower() for r in requirements}


def test_the_devtools_are_a_dev_only_copy_on_the_paths_each_repository_has(exported):
    output, _ = exported
    for repo in output.iterdir():
        pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
        assert "celery-tasks-devtools" not in requirement_names(pyproject["project"].get("dependencies", []))
        if "celery-tasks-devtools" not in pyproject.get("dependency-groups", {}).get("dev", []):
            continue
        assert pyproject["tool"]["uv"]["sources"]["celery-tasks-devtools"] == {"path": "devtools", "editable": True}
        tools = tomllib.loads((repo / "devtools" / "pyproject.toml").read_text())
        assert tools["project"]["name"] == "celery-tasks-devtools"
        for name, source in tools["tool"]["uv"]["sources"].items():
            target = (repo / "devtools" / source["path"]).resolve()
            assert target.is_relative_to(repo) and "devtools" not in target.relative_to(repo).parts, (repo.name, name)
            # Itself, or a submodule at the library's folder (nested ones are checked out only in clones).
            assert target == repo if name == repo.name else target.name == name.replace("-", "_"), (repo.name, name)
            assert target.is_dir(), (repo.name, name)
    # The contract repository's dev-only library never nests into the services that include it.
    gitmodules = run(["git", "config", "--file", ".gitmodules", "--list"], cwd=output / "celery-tasks")
    assert "submodule.task_storage.update=none" in gitmodules


def test_a_cloned_service_installs_from_its_clone_and_passes_its_own_tests(exported, tmp_path):
    uv = uv_command()
    output, _ = exported
    clone = tmp_path / SERVICE
    run(
        ["git", *ALLOW_FILE, "clone", "--quiet", "--recurse-submodules", (output / SERVICE).as_uri(), str(clone)],
        tmp_path,
    )
    assert (clone / "celery_tasks" / "src" / "celery_tasks" / "__init__.py").is_file(), "the submodule was not cloned"
    env = clean_env()
    run([*uv, "venv", "--quiet", "--python", "3.11", str(clone / ".venv")], cwd=clone, env=env)
    python = str(clone / ".venv" / "bin" / "python")
    dev = tomllib.loads((clone / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert "celery-tasks-devtools" in dev, "the service's tests use the devtools' pytest plugin"
    # --group reads the dev group with the clone's sources: the devtools come from ./devtools, never from an index.
    install = ["-e", "./celery_tasks", "-e", ".", "--group", "dev"]
    run([*uv, "pip", "install", "--quiet", "--python", python, *install], clone, env=env)
    where = run(
        [python, "-c", "import celery_tasks, consumer_etl; print(celery_tasks.__file__, consumer_etl.__file__)"], clone
    )
    contract_file, service_file = where.split()
    assert Path(contract_file).is_relative_to(clone / "celery_tasks"), "the contract package comes from the submodule"
    assert Path(service_file).is_relative_to(clone / "src")
    tools_file = run([python, "-c", "import celery_tasks_devtools; print(celery_tasks_devtools.__file__)"], clone)
    assert Path(tools_file).is_relative_to(clone / "devtools"), "the devtools come from the clone's copy"
    assert [p.parent.parent.parent for p in clone.rglob("src/celery_tasks/contract.py")] == [clone / "celery_tasks"]
    assert not list((clone / "celery_tasks" / "task_storage").iterdir()), "no nested dev-only submodule"
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and " failed" not in tests.stdout


def test_contract_update_flow_bumps_the_submodule(tmp_path):
    output = tmp_path / "export"
    run([sys.executable, str(EXPORT), str(output)], cwd=ROOT)
    contract = output / "celery-tasks"  # stands for the hosted contract repository
    service = tmp_path / SERVICE
    run(
        ["git", *ALLOW_FILE, "clone", "--quiet", "--recurse-submodules", (output / SERVICE).as_uri(), str(service)],
        tmp_path,
    )
    # 1. Change the contract and commit it in its repository.
    (contract / "CHANGELOG.md").write_text("- etl.map_keywords: a new optional field\n")
    run(["git", "add", "CHANGELOG.md"], contract)
    run(["git", *AUTHOR, "commit", "--quiet", "-m", "contract: new optional field"], contract)
    new_contract = run(["git", "rev-parse", "HEAD"], contract)
    # 2. Bump the submodule in the service and commit the new gitlink.
    run(["git", *ALLOW_FILE, "submodule", "update", "--quiet", "--remote", "celery_tasks"], service)
    assert (service / "celery_tasks" / "CHANGELOG.md").is_file()
    assert "celery_tasks" in run(["git", "status", "--porcelain"], service)
    run(["git", "add", "celery_tasks"], service)
    run(["git", *AUTHOR, "commit", "--quiet", "-m", "contract: bump celery_tasks"], service)
    assert run(["git", "ls-tree", "HEAD", "celery_tasks"], service).split()[2] == new_contract
