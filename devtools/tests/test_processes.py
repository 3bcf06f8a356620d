"""Started services are stopped with their children, and a dead service is reported with its log."""

import sys
import time

import pytest
from celery_tasks_devtools.errors import DevtoolsError, EntryPointNotFound, ServiceExited
from celery_tasks_devtools.processes import ServiceGroup, ServiceProcess, entry_point, stop_together
from celery_tasks_devtools.testing import group_alive


def test_stop_ends_the_process_and_its_children(tmp_path):
    with ServiceGroup(grace=2) as group:
        # A parent that ignores SIGTERM and a child: only the group kill ends both.
        script = "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        script += "subprocess.Popen(['sleep', '300']); print('up', flush=True); time.sleep(300)"
        service = group.start("stubborn", [sys.executable, "-c", script], {}, tmp_path / "stubborn.log")
        deadline = time.monotonic() + 30
        while "up" not in service.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        pgid = service.process.pid
        assert group_alive(pgid)
    assert not group_alive(pgid)


def test_stop_together_terminates_the_willing_and_kills_the_stubborn(tmp_path):
    stubborn = "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    stubborn += "subprocess.Popen(['sleep', '300']); print('up', flush=True); time.sleep(300)"
    willing = "import subprocess, time; subprocess.Popen(['sleep', '300']); print('up', flush=True); time.sleep(300)"
    services = [
        ServiceProcess([sys.executable, "-c", script], {}, tmp_path / f"{index}.log", name=f"service-{index}")
        for index, script in enumerate([stubborn, willing, stubborn])
    ]
    for service in services:
        service.wait_for_output("up", timeout=30)
    groups = [service.pid for service in services]
    stop_together(services, grace=1)
    # SIGTERM ended the willing one; the stubborn ones and every child (sleep) got the group's SIGKILL.
    assert [service.process.returncode for service in services] == [-9, -15, -9]
    assert not any(group_alive(pgid) for pgid in groups)
    assert all(service._log.closed for service in services)


def test_a_service_that_exits_is_reported_with_its_log(tmp_path):
    with ServiceGroup() as group:
        service = group.start(
            "failing", [sys.executable, "-c", "print('bad config'); raise SystemExit(3)"], {}, tmp_path / "f.log"
        )
        service.process.wait(timeout=30)
        with pytest.raises(ServiceExited, match=r"failing exited with code 3; end of .*f.log:\nbad config"):
            group.check_alive()


def test_wait_for_output_returns_the_log_once_it_holds_the_text(tmp_path):
    with ServiceGroup(grace=2) as group:
        script = (
            "import time; print('starting', flush=True); time.sleep(0.5); print('ready.', flush=True); time.sleep(300)"
        )
        service = group.start("slow", [sys.executable, "-c", script], {}, tmp_path / "slow.log")
        assert "starting" in service.wait_for_output("ready.", timeout=30)
        with pytest.raises(TimeoutError, match="did not write 'never' within 0 s"):
            service.wait_for_output("never", timeout=0.3)
        quitter = group.start("quitter", [sys.executable, "-c", "print('bye')"], {}, tmp_path / "q.log")
        with pytest.raises(ServiceExited, match="quitter exited with code 0 before writing 'ready.'"):
            quitter.wait_for_output("ready.", timeout=30)


def test_entry_points_are_found_beside_the_interpreter():
    assert entry_point("producer").endswith("producer")
    with pytest.raises(EntryPointNotFound, match="not installed"):
        entry_point("no-such-command-here")
    assert issubclass(EntryPointNotFound, DevtoolsError) and issubclass(EntryPointNotFound, FileNotFoundError)
