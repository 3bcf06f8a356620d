"""The devtools are dev-only: no service depends on them, every package's dev group has them, no image installs them."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVTOOLS = "celery-tasks-devtools"
PACKAGES = ["celery_tasks", "producer", "consumer_crawler", "consumer_etl", "consumer_alert", "consumer_diagnostics"]


def pyproject(folder: str) -> dict:
    return tomllib.loads((ROOT / folder / "pyproject.toml").read_text())


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0] for requirement in requirements}


def test_no_service_depends_on_the_devtools_and_every_dev_group_has_them():
    for folder in PACKAGES:
        project = pyproject(folder)
        assert DEVTOOLS not in names(project["project"].get("dependencies", [])), folder
        assert DEVTOOLS in names(project["dependency-groups"]["dev"]), folder
    assert DEVTOOLS in names(pyproject(".")["dependency-groups"]["dev"])
    assert "devtools" in pyproject(".")["tool"]["uv"]["workspace"]["members"]
    # The only way in for a service: the producer's optional `demo` extra.
    assert pyproject("producer")["project"]["optional-dependencies"]["demo"] == [DEVTOOLS]


def test_the_pytest_plugin_is_registered_by_the_devtools_only():
    assert pyproject("devtools")["project"]["entry-points"]["pytest11"] == {
        "celery_tasks": "celery_tasks_devtools.plugin"
    }
    for folder in PACKAGES:
        assert "pytest11" not in pyproject(folder)["project"].get("entry-points", {}), folder


def test_no_image_copies_or_installs_the_devtools():
    dockerfiles = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))
    assert dockerfiles
    for path in dockerfiles:
        text = path.read_text()
        copies = [line.split()[1] for line in text.splitlines() if line.startswith("COPY devtools")]
        assert copies == ["devtools/pyproject.toml"], f"{path.name} copies {copies}"
        syncs = [line for line in text.splitlines() if "uv sync" in line]
        assert syncs and all("--no-dev" in line for line in syncs), path.name
        assert not re.search(r"--all-extras|--extra[ =]demo|--group|--all-groups", text), path.name
        ignore = path.with_name(path.name + ".dockerignore").read_text().splitlines()
        assert [line for line in ignore if "devtools" in line] == ["!devtools/pyproject.toml"], path.name
