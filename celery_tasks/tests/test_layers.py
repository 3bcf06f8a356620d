"""The contract core loads without the runtime; the public names of the package still resolve."""

import subprocess
import sys


def run(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_importing_the_core_and_the_stubs_imports_no_runtime_module():
    out = run(
        "import sys, celery_tasks, celery_tasks.registry, celery_tasks.schema, celery_tasks.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('celery_tasks.runtime')))"
    )
    assert out.strip() == "[]"


def test_runtime_names_load_lazily_from_the_package():
    out = run(
        "from celery_tasks import create_worker_from, ContractApp, TypedAsyncResult, create_app; "
        "print(create_worker_from.__module__, ContractApp.__module__)"
    )
    assert out.split() == ["celery_tasks.runtime.factory", "celery_tasks.runtime.app"]
