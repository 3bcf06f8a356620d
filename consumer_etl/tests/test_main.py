"""The console entry point fails fast, before touching the broker, when its configuration is broken."""

import json
import subprocess

from celery_tasks_devtools.testing import entry_point


def run_etl(tmp_path, keywords_content, **env):
    keywords = tmp_path / "keywords.json"
    keywords.write_text(keywords_content)
    environment = {
        "PATH": "/usr/bin:/bin",
        "CELERY_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'etl.db'}",
        # A broker that does not exist: the worker must stop before ever needing it.
        "CELERY_TASKS_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
        "ETL_KEYWORDS_FILE": str(keywords),
        **env,
    }
    return subprocess.run(
        [entry_point("consumer-etl")], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_broken_keywords_file_stops_the_worker_with_the_reason(tmp_path):
    done = run_etl(tmp_path, json.dumps({"keywords": [{"keyword": "the"}]}))
    assert done.returncode != 0
    assert "KeywordsFileError" in done.stderr
    assert "'the' is made only of stopwords" in done.stderr
    assert (tmp_path / "etl.db").exists()  # the schema was created first


def test_an_invalid_setting_is_named(tmp_path):
    done = run_etl(tmp_path, json.dumps({"keywords": []}), ETL_READ_BATCH="0")
    assert done.returncode != 0
    assert "ETL_READ_BATCH" in done.stderr
