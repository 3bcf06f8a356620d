import json
import subprocess

import pytest
from celery_tasks.cli import main
from celery_tasks.models import ContractProgress
from celery_tasks.registry import ALL_CONTRACTS
from click.testing import CliRunner
from pydantic import Field

from celery_tasks import Contract, ContractArgs, ContractResult, headers, schema


class Item(ContractResult):
    day: str
    count: int


def make_contract(args_fields: dict, result_fields: dict, version: int = 1):
    args = type(
        "Args",
        (ContractArgs,),
        {
            "__annotations__": {k: v[0] for k, v in args_fields.items()},
            **{k: v[1] for k, v in args_fields.items() if v[1] is not ...},
        },
    )
    result = type(
        "Result",
        (ContractResult,),
        {
            "__annotations__": {k: v[0] for k, v in result_fields.items()},
            **{k: v[1] for k, v in result_fields.items() if v[1] is not ...},
        },
    )
    return type("Demo", (Contract,), {"name": "demo.task", "version": version, "Args": args, "Result": result})


BASE_ARGS = {
    "url": (str, ...),
    "limit": (int, Field(10, ge=1, le=100)),
    "tags": (list[str], Field(default_factory=list)),
}
BASE_RESULT = {"status": (int, ...), "items": (list[Item], ...)}


def verdicts(old, new):
    report = schema.compare(schema.contract_snapshot(old), schema.contract_snapshot(new))
    return {(c.side, c.path, c.verdict) for c in report.changes}, report


def test_identical_contracts_have_no_changes():
    _, report = verdicts(make_contract(BASE_ARGS, BASE_RESULT), make_contract(BASE_ARGS, BASE_RESULT))
    assert report.changes == () and report.errors == []


@pytest.mark.parametrize(
    ("args_change", "result_change", "expected"),
    [
        ({"note": (str, "")}, {}, ("args", "note", "compatible")),
        ({"depth": (int, ...)}, {}, ("args", "depth", "breaking")),
        ({"url": None}, {}, ("args", "url", "breaking")),
        ({"limit": (int, Field(10, ge=1, le=1000))}, {}, ("args", "limit", "compatible")),
        ({"limit": (int, Field(10, ge=1, le=50))}, {}, ("args", "limit", "breaking")),
        ({"url": (int, ...)}, {}, ("args", "url", "breaking")),
        ({"url": (str | None, ...)}, {}, ("args", "url", "compatible")),
        ({}, {"elapsed": (float, 0.0)}, ("result", "elapsed", "compatible")),
        ({}, {"status": None}, ("result", "status", "breaking")),
        ({}, {"status": (str, ...)}, ("result", "status", "breaking")),
        ({}, {"items": (list[str], ...)}, ("result", "items[]", "breaking")),
    ],
)
def test_rules(args_change, result_change, expected):
    args = {k: v for k, v in {**BASE_ARGS, **args_change}.items() if v is not None}
    result = {k: v for k, v in {**BASE_RESULT, **result_change}.items() if v is not None}
    found, _ = verdicts(make_contract(BASE_ARGS, BASE_RESULT), make_contract(args, result))
    assert expected in found


def test_nested_result_field_removed_is_breaking():
    class SlimItem(ContractResult):
        day: str

    found, _ = verdicts(
        make_contract(BASE_ARGS, BASE_RESULT),
        make_contract(BASE_ARGS, {"status": (int, ...), "items": (list[SlimItem], ...)}),
    )
    assert ("result", "items[].count", "breaking") in found


def test_breaking_change_needs_a_version_bump():
    old = make_contract(BASE_ARGS, BASE_RESULT)
    new_args = {**BASE_ARGS, "depth": (int, ...)}
    _, report = verdicts(old, make_contract(new_args, BASE_RESULT))
    assert report.errors == [
        "demo.task: args field 'depth': required field added (breaking) -- bump demo.task.version to 2"
    ]
    _, bumped = verdicts(old, make_contract(new_args, BASE_RESULT, version=2))
    assert bumped.errors == []


def test_cli_export_then_check_passes_and_catches_unversioned_breaks(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["schema", "export", "--dir", str(tmp_path)]).exit_code == 0
    assert len(list(tmp_path.glob("*.json"))) == len(ALL_CONTRACTS)
    ok = runner.invoke(main, ["schema", "check", "--dir", str(tmp_path), "--require-current"])
    assert ok.exit_code == 0, ok.output

    # Pretend the snapshot had an argument field that the live contract lacks.
    path = tmp_path / "diagnostics.echo.json"
    doc = json.loads(path.read_text())
    doc["args"]["properties"]["colour"] = {"type": "string"}
    doc["fingerprint"] = "0" * 16
    path.write_text(json.dumps(doc))
    failed = runner.invoke(main, ["schema", "check", "--dir", str(tmp_path)])
    assert failed.exit_code == 1
    assert "diagnostics.echo: args field 'colour': field removed or renamed (breaking)" in failed.output
    assert "bump diagnostics.echo.version to 2" in failed.output


def test_check_against_a_git_revision(tmp_path):
    repo = tmp_path / "repo"
    snapshots = repo / "schemas"
    schema.export(ALL_CONTRACTS, snapshots)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot"], check=True)
    (snapshots / "diagnostics.echo.json").unlink()
    loaded = schema.load_git_ref("HEAD", snapshots)
    assert set(loaded) == {c.name for c in ALL_CONTRACTS}
    result = CliRunner().invoke(main, ["schema", "check", "--dir", str(snapshots), "--against", "HEAD"])
    assert result.exit_code == 0, result.output


def test_removed_contract_fails_the_gate(tmp_path):
    schema.export(ALL_CONTRACTS, tmp_path)
    extra = json.loads((tmp_path / "diagnostics.echo.json").read_text())
    extra["name"] = "diagnostics.gone"
    (tmp_path / "diagnostics.gone.json").write_text(json.dumps(extra))
    result = CliRunner().invoke(main, ["schema", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "diagnostics.gone: contract removed" in result.output


class Steps(ContractProgress):
    done: int
    total: int


class StepsRenamed(ContractProgress):
    finished: int
    total: int


class StepsMore(ContractProgress):
    done: int
    total: int
    phase: str


def with_progress(progress, version: int = 1):
    return type("Demo", (make_contract(BASE_ARGS, BASE_RESULT, version),), {"Progress": progress})


def test_progress_is_in_the_snapshot_and_the_fingerprint():
    plain, tracked = make_contract(BASE_ARGS, BASE_RESULT), with_progress(Steps)
    assert schema.contract_snapshot(plain)["progress"] is None
    assert schema.contract_snapshot(tracked)["progress"]["properties"].keys() == {"done", "total"}
    assert tracked.fingerprint != plain.fingerprint != with_progress(StepsRenamed).fingerprint
    # A contract without progress keeps the fingerprint it had before progress was fingerprinted.
    assert plain.fingerprint == headers.schema_fingerprint(plain.Args, plain.Result)


def test_a_breaking_progress_change_needs_a_version_bump():
    found, report = verdicts(with_progress(Steps), with_progress(StepsRenamed))
    assert ("progress", "done", "breaking") in found
    assert report.errors == [
        "demo.task: progress field 'done': field removed or renamed (breaking) -- bump demo.task.version to 2"
    ]
    _, bumped = verdicts(with_progress(Steps), with_progress(StepsRenamed, version=2))
    assert bumped.errors == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, Steps, ("progress", "", "compatible")),  # a model added: old callers ignore it
        (Steps, None, ("progress", "", "breaking")),  # a model removed: callers lose their progress
        (Steps, StepsMore, ("progress", "phase", "compatible")),  # the caller reads it: like a result field
    ],
)
def test_progress_rules_follow_the_result(old, new, expected):
    found, _ = verdicts(with_progress(old), with_progress(new))
    assert expected in found


def test_cli_check_catches_an_unversioned_progress_break(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["schema", "export", "--dir", str(tmp_path)]).exit_code == 0
    path = tmp_path / "diagnostics.sleep.json"
    doc = json.loads(path.read_text())
    assert set(doc["progress"]["properties"]) == {"slept", "seconds"}
    # Pretend the snapshot's progress had a field that the live Progress model lacks.
    doc["progress"]["properties"]["phase"] = {"type": "string"}
    doc["progress"]["required"].append("phase")
    doc["fingerprint"] = "0" * 16
    path.write_text(json.dumps(doc))
    failed = runner.invoke(main, ["schema", "check", "--dir", str(tmp_path)])
    assert failed.exit_code == 1
    assert "diagnostics.sleep: progress field 'phase': field removed or renamed (breaking)" in failed.output
    assert "bump diagnostics.sleep.version to 2" in failed.output


def test_old_snapshots_without_progress_still_load(tmp_path):
    schema.export(ALL_CONTRACTS, tmp_path)
    for path in tmp_path.glob("*.json"):
        doc = json.loads(path.read_text())
        del doc["progress"]
        path.write_text(json.dumps(doc))
    reports = schema.check(ALL_CONTRACTS, schema.load_directory(tmp_path))
    added = {r.name for r in reports for c in r.changes if c.rule == "progress model added"}
    assert added == {"crawler.crawl_feed", "diagnostics.sleep"}
    assert all(r.errors == [] for r in reports)
