"""`producer demo` end to end (what `make demo` runs), and that it stops everything it started when interrupted."""

import email
import email.policy
import re
import signal
import subprocess
import time

import pytest
from celery_tasks_devtools.mail import png_attachments
from celery_tasks_devtools.testing import entry_point, group_alive

DEMO_QUEUES = [
    "crawler.fetch_page",
    "crawler.crawl_feed",
    "etl.map_keywords",
    "etl.find_thresholds",
    "alert.send_alert",
]


def started_pids(output):
    return [int(pid) for pid in re.findall(r"started consumer-\w+ \(pid (\d+)\)", output)]


@pytest.mark.broker_compat
def test_demo_ends_with_alert_mails_carrying_their_charts(tmp_path, vhost, management):
    output = tmp_path / "demo-output"
    result = subprocess.run(
        [entry_point("producer"), "demo", "--output", str(output), "--vhost", vhost],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    mails = sorted((output / "mail").glob("*.eml"))
    assert mails, out
    for mail in mails:
        charts = png_attachments(mail)
        assert charts and all(size > 1000 for _, size in charts)
        assert str(mail) in " ".join(out.split())  # the summary names every mail file
    charts = sorted((output / "charts").glob("*.png"))
    assert [path.read_bytes()[:4] for path in charts] == [b"\x89PNG"] * len(mails)
    for expected in ("crawl: 3 ok, 0 failed", "crossed: kubernetes, rabbitmq", "alerts: 2 ok, 0 failed"):
        assert expected in out
    assert "Keywords counted and thresholds" in out
    # The demo makes its own API key and uses it: a task sent and read over HTTP, a keyless call refused.
    flat = " ".join(out.split())
    for shown in ("with the demo's key", "-> 202", "-> SUCCESS", "without a key -> 401"):
        assert shown in flat, shown
    assert '"$argon2id$' in (output / "api-keys.json").read_text(), "the keys file holds hashes only"
    assert f"{management.url}/#/queues/{vhost}" in out
    # Queue audit: nothing the system declared is a transient non-exclusive queue (refused by
    # RabbitMQ 4.3), and no dead-letter queue depends on a broker default delivery limit.
    queues = management.queues(vhost)
    assert queues, "the demo vhost holds the demo's queues"
    transient = [q["name"] for q in queues if not q["durable"] and not q["exclusive"]]
    assert transient == [], f"queues neither durable nor exclusive: {transient}"
    major = int(management.overview()["rabbitmq_version"].split(".")[0])
    for queue in (q for q in queues if q["name"].endswith(".dlq")):
        limit = queue["arguments"].get("x-delivery-limit")
        assert limit == (-1 if major >= 4 else None), (queue["name"], queue["arguments"])
    print(f"queue audit on RabbitMQ {major}.x: {len(queues)} queues, all durable or exclusive")
    # Everything the demo started is gone: processes, and the consumers on the queues.
    pids = started_pids(out)
    assert len(pids) == 3
    assert not [pid for pid in pids if group_alive(pid)]
    queues = {queue["name"]: queue for queue in management.queues(vhost)}
    assert set(DEMO_QUEUES) <= set(queues)
    # Rerunning starts from an empty vhost and an empty output folder, and works again.
    again = subprocess.run(
        [entry_point("producer"), "demo", "--output", str(output), "--vhost", vhost],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(path.name for path in (output / "mail").glob("*.eml")) == [path.name for path in mails]
    assert "alerts: 2 ok, 0 failed" in again.stdout  # a fresh database: sent again, not duplicates


def test_chinese_demo_ends_with_a_mail_whose_chart_shows_the_chinese_keyword(tmp_path, vhost):
    output = tmp_path / "demo-zh"
    result = subprocess.run(
        [entry_point("producer"), "demo", "--language", "zh", "--output", str(output), "--vhost", vhost],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "alerts: 2 ok, 0 failed" in out, out
    assert "台风" in out and "芯片" in out
    mails = sorted((output / "mail").glob("*.eml"))
    assert len(mails) == 2
    subjects = [email.message_from_bytes(m.read_bytes(), policy=email.policy.default)["Subject"] for m in mails]
    assert any("台风" in subject for subject in subjects), subjects
    for mail in mails:
        assert [size > 1000 for _, size in png_attachments(mail)] == [True]


def test_interrupted_demo_stops_every_process_it_started(tmp_path, vhost):
    output = tmp_path / "demo-output"
    demo = subprocess.Popen(
        [entry_point("producer"), "demo", "--output", str(output), "--vhost", vhost],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    try:
        for line in demo.stdout:
            seen.append(line)
            if "started consumer-alert" in line:
                break
        time.sleep(1.0)  # the consumers are booting
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    out = "".join(seen) + rest
    assert demo.returncode == 130, out
    assert "interrupted: everything the demo started has been stopped" in out
    pids = started_pids(out)
    assert len(pids) == 3
    assert not [pid for pid in pids if group_alive(pid)]
