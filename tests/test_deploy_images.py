"""The Dockerfiles, checked without a container engine.

Statically, with a real Dockerfile parser (dockerfile-parse): every base image pinned by version
and digest, a non-root numeric USER, a HEALTHCHECK whose script is in the image, the console entry
point as CMD, every COPY source present and let through the build's .dockerignore.

Then the build stage of each Dockerfile is replayed on this machine: its ENV, WORKDIR, COPY and
RUN instructions, in order, with the container paths moved under a temporary folder. The `uv sync`
commands run as written (same flags, same uv.lock), so a stale lock, a file missing from a COPY or
a wrong package name fails here as it would fail `docker build`. The resulting environment must
hold the service's entry point and runtime dependencies, and none of the other services or of the
test tools.
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "deploy" / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
SERVICES = ["producer", "consumer_crawler", "consumer_etl", "consumer_alert", "consumer_diagnostics"]
PINNED = re.compile(r"^(?P<name>[a-z0-9./_-]+):(?P<tag>[\w][\w.-]*)@sha256:[0-9a-f]{64}$")
# What each image must run, and the packages it must (not) contain.
EXPECTED = {
    "producer": {"package": "producer", "cmd": ["producer", "serve", "--host", "0.0.0.0", "--port", "8000"]},
    "consumer-crawler": {"package": "consumer_crawler", "cmd": ["consumer-crawler"]},
    "consumer-etl": {"package": "consumer_etl", "cmd": ["consumer-etl"]},
    "consumer-alert": {"package": "consumer_alert", "cmd": ["consumer-alert"]},
    "consumer-diagnostics": {"package": "consumer_diagnostics", "cmd": ["consumer-diagnostics"]},
    "flower": {"package": "producer", "cmd": ["celery", "flower", "--address=0.0.0.0", "--port=5555"]},
}


def instructions(path):
    return [i for i in DockerfileParser(path=str(path)).structure if i["instruction"] != "COMMENT"]


def stages(path):
    """{stage name: [instructions]} in order."""
    result, current = {}, None
    for instruction in instructions(path):
        if instruction["instruction"] == "FROM":
            words = instruction["value"].split()
            current = words[2] if len(words) == 3 and words[1].lower() == "as" else f"stage{len(result)}"
            result[current] = [instruction]
        else:
            result[current].append(instruction)
    return result


def image_name(path):
    return path.name.removesuffix(".Dockerfile")


def json_form(value):
    """The argv of an exec-form CMD/HEALTHCHECK, or None for the shell form."""
    start = value.find("[")
    return json.loads(value[start:]) if start >= 0 else None


def test_one_dockerfile_per_service_and_ignore_file():
    assert sorted(image_name(p) for p in DOCKERFILES) == sorted(EXPECTED)
    for path in DOCKERFILES:
        assert path.with_name(path.name + ".dockerignore").exists(), f"{path.name} has no .dockerignore"


@pytest.mark.parametrize("path", DOCKERFILES, ids=image_name)
def test_base_images_are_pinned_by_version_and_digest(path):
    parents = DockerfileParser(path=str(path)).parent_images
    assert parents
    for image in parents:
        match = PINNED.match(image.split()[0])
        assert match, f"{image} is not pinned as name:version@sha256:digest"
        assert match["tag"] not in {"latest", "slim", "stable"}
        assert re.search(r"\d+\.\d+", match["tag"]), f"{image}: the tag names no version"


def test_all_dockerfiles_use_the_same_pins():
    pins = {tuple(DockerfileParser(path=str(path)).parent_images) for path in DOCKERFILES}
    assert len(pins) == 1, pins


@pytest.mark.parametrize("path", DOCKERFILES, ids=image_name)
def test_runtime_stage_runs_the_entry_point_as_non_root_with_a_healthcheck(path):
    runtime = list(stages(path).values())[-1]
    kinds = [i["instruction"] for i in runtime]
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users, "no USER: the container would run as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit(), "a numeric USER lets Kubernetes check runAsNonRoot"
    assert int(user) >= 1000 and user != "0" and (not group or int(group) != 0)
    assert kinds.index("USER") < kinds.index("CMD")
    # Nothing runs as root after USER (no second USER switching back).
    assert all(u.split(":")[0] not in {"0", "root"} for u in users)
    cmd = json_form(next(i["value"] for i in runtime if i["instruction"] == "CMD"))
    assert cmd == EXPECTED[image_name(path)]["cmd"]
    assert "ENTRYPOINT" not in kinds, "the container runs exactly its console entry point"
    healthcheck = next(i["value"] for i in runtime if i["instruction"] == "HEALTHCHECK")
    assert re.search(r"\bCMD \[", healthcheck), "HEALTHCHECK in exec form"
    argv = json_form(healthcheck)
    assert argv[0] == "python"
    copied = {shlex.split(i["value"])[-1] for i in runtime if i["instruction"] == "COPY"}
    assert argv[1] in copied, "the health check script is copied into the image"
    assert any(option.startswith("--interval=") for option in shlex.split(healthcheck))


@pytest.mark.parametrize("path", DOCKERFILES, ids=image_name)
def test_copy_sources_exist_and_pass_the_dockerignore(path):
    ignore = path.with_name(path.name + ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]

    def ignored(relative):
        verdict = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            candidates = [relative, *[str(p) for p in Path(relative).parents if str(p) != "."]]
            if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern + "/**") for c in candidates):
                verdict = not negate
        return verdict

    for instruction in instructions(path):
        if instruction["instruction"] != "COPY" or instruction["value"].startswith("--from"):
            continue
        *sources, _ = shlex.split(instruction["value"])
        for source in sources:
            assert (ROOT / source).exists(), f"{path.name}: COPY {source} does not exist"
            assert not ignored(source.rstrip("/")), f"{path.name}: COPY {source} is excluded by the .dockerignore"


def env_assignments(value):
    return dict(token.split("=", 1) for token in shlex.split(value))


def uv_runs(python):
    return subprocess.run([python, "-m", "uv", "--version"], capture_output=True, check=False).returncode == 0


def uv_shim(folder):
    """A folder whose `uv` runs this machine's uv (on PATH, or `python3 -m uv` as bootstrap installs it)."""
    found = shutil.which("uv")
    command = [found] if found else None
    for python in ("python3", sys.executable):
        if command is None and uv_runs(python):
            command = [python, "-m", "uv"]
    if command is None:
        pytest.fail("uv is needed to replay the build (run `make bootstrap`)")
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "uv"
    shim.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n')
    shim.chmod(0o755)
    return folder


def replay_build_stage(path, base):
    """Run the build stage's instructions here; returns the virtual environment it made."""
    build = stages(path)["build"]
    env, workdir = {}, "/"

    def host(container_path):
        return base / container_path.lstrip("/")

    def skip_junk(folder, names):
        return [n for n in names if n in {".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}]

    for instruction in build[1:]:
        kind, value = instruction["instruction"], instruction["value"]
        if kind == "ENV":
            env |= env_assignments(value)
        elif kind == "WORKDIR":
            workdir = value
            host(workdir).mkdir(parents=True, exist_ok=True)
        elif kind == "COPY":
            if value.startswith("--from="):
                continue  # the uv binary: this machine's uv runs instead
            *sources, destination = shlex.split(value)
            target = host(os.path.join(workdir, destination))
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(origin, target, dirs_exist_ok=True, ignore=skip_junk)
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target / origin.name)
        elif kind == "RUN":
            words = value.split()
            command = " ".join(w for w in words if not w.startswith("--mount="))
            # This machine's environment (proxy, CA certificates, uv cache) under the Dockerfile's ENV.
            outer = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}}
            run_env = outer | {k: str(host(v)) if v.startswith("/") else v for k, v in env.items()}
            run_env["UV_COMPILE_BYTECODE"] = "0"  # the only change: compiling .pyc files proves nothing here
            run_env["PATH"] = f"{uv_shim(base.parent / 'bin')}{os.pathsep}{run_env['PATH']}"
            completed = subprocess.run(
                ["bash", "-c", command],
                cwd=host(workdir),
                env=run_env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert completed.returncode == 0, f"RUN {command}\n{completed.stdout[-2000:]}{completed.stderr[-3000:]}"
        else:
            raise AssertionError(f"the replay does not know {kind}: keep the build stage to ENV/WORKDIR/COPY/RUN")
    return host(env["UV_PROJECT_ENVIRONMENT"])


def compose_services_of(image):
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("build", {}).get("dockerfile") == f"deploy/docker/{image}.Dockerfile"
    }


@pytest.mark.parametrize("path", DOCKERFILES, ids=image_name)
def test_build_stage_replayed_installs_only_the_service(path, tmp_path):
    venv = replay_build_stage(path, tmp_path / "root")
    image = image_name(path)
    expected = EXPECTED[image]

    def python(code):
        return subprocess.run(
            [str(venv / "bin" / "python"), "-I", "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert (venv / "bin" / expected["cmd"][0]).exists(), f"no {expected['cmd'][0]} in the image's environment"
    loaded = python(f"import {expected['package']}.main, celery_tasks")
    assert loaded.returncode == 0, loaded.stderr
    for other in SERVICES:
        if other != expected["package"]:
            assert python(f"import {other}").returncode != 0, f"{other} leaked into the {image} image"
    assert python("import pytest").returncode != 0, "dev dependencies leaked into the image"
    # The HEALTHCHECK script runs with what the image holds.
    helped = subprocess.run(
        [str(venv / "bin" / "python"), "-I", str(DOCKER / "healthcheck.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    # Every compose service run from this image finds the database driver its URL names.
    for name, service in compose_services_of(image).items():
        if "postgresql+psycopg" in str(service.get("environment", {})):
            assert python("import psycopg").returncode == 0, f"{name} uses PostgreSQL but its image has no psycopg"
    if image == "flower":
        assert python("import flower").returncode == 0
