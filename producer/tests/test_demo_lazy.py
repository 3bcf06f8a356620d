"""The producer needs celery-tasks-devtools only when `producer demo` runs, and says so when it is missing."""

import pkgutil
import subprocess
import sys

import producer

#: The two modules that use the devtools (the fake news site, the process runner); only the demo imports them.
DEMO_ONLY = {"producer.demo_run", "producer.demo_api"}
BLOCK = "import sys; sys.modules['celery_tasks_devtools'] = None; "


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=120, check=False
    )


def test_every_other_producer_module_imports_without_the_devtools():
    names = sorted(
        f"producer.{info.name}"
        for info in pkgutil.iter_modules(producer.__path__)
        if f"producer.{info.name}" not in DEMO_ONLY
    )
    assert "producer.demo" in names and "producer.main" in names
    done = run(f"import importlib; [importlib.import_module(n) for n in {names!r}]; print('ok')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_demo_without_the_devtools_fails_with_a_clear_message(tmp_path):
    done = run(
        f"from producer.main import main; sys.argv = ['producer', 'demo', '--output', {str(tmp_path)!r}]; main()"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "the demo needs celery-tasks-devtools" in output
    assert "make bootstrap" in output
    assert "Traceback" not in output
