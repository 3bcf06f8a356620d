"""Worker defaults of the consumer-crawler entry point."""

from celery_tasks.runtime.worker import worker_argv
from celery_tasks.settings import TaskSettings
from consumer_crawler.main import default_worker_options


def test_threads_and_thirty_two_by_default():
    assert default_worker_options({}) == ["--pool=threads", "--concurrency=32"]
    # Every service's environment carries the library default 'prefork': still threads here.
    assert default_worker_options({"CELERY_TASKS_WORKER_POOL": "prefork"}) == ["--pool=threads", "--concurrency=32"]


def test_environment_replaces_the_defaults():
    assert default_worker_options({"CELERY_TASKS_WORKER_POOL": "solo"}) == ["--concurrency=32"]
    assert default_worker_options({"CELERY_TASKS_WORKER_CONCURRENCY": "4"}) == ["--pool=threads"]


def test_command_line_options_come_last_and_win():
    argv = worker_argv("crawler", TaskSettings(), [*default_worker_options({}), "--pool=prefork", "-c", "2"])
    # settings' pool, then the crawler's default, then the user's: celery takes the last one given
    assert [option for option in argv if option.startswith("--pool")] == [
        "--pool=prefork",
        "--pool=threads",
        "--pool=prefork",
    ]
    assert argv[-2:] == ["-c", "2"]
    default = worker_argv("crawler", TaskSettings(), default_worker_options({}))
    assert [option for option in default if option.startswith("--pool")][-1] == "--pool=threads"
