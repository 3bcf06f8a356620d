"""Message security: JSON only (pickle refused even when a caller asks for it), and optional signing.

Signing uses Celery's ``auth`` serializer (CELERY_TASKS_SERIALIZER=auth with
CELERY_TASKS_SECURITY_KEY / _CERTIFICATE / _CERT_STORE). Keys and certificates are made
here with ``cryptography``; the signed producer runs as its own process, because
Celery's setup_security changes kombu's serializer registry for the whole process.
"""

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery.security.certificate import Certificate
from celery.security.key import PrivateKey
from celery.security.serialization import SecureSerializer
from celery_tasks.errors import ConfigurationError, MessageRejected
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, settings_env, wait_for_parked

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import certs
import faults

RECORD = diagnostics.Record.name
DLQ = f"{RECORD}.dlq"
EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}

SIGNED_CLIENT = """
import json, sys
from celery_tasks import create_app
from celery_tasks.settings import load_settings
from celery_tasks.tasks import diagnostics

app = create_app(diagnostics.CONTRACTS, load_settings())
outcome = {}
for key in sys.argv[1:]:
    try:
        outcome[key] = app.tasks["diagnostics.record"].delay(key=key).get(timeout=60).model_dump()
    except Exception as exc:
        outcome[key] = f"{type(exc).__name__}: {exc}"
print(json.dumps(outcome))
"""


def test_pickle_cannot_be_configured(monkeypatch):
    monkeypatch.setenv("CELERY_TASKS_SERIALIZER", "pickle")
    with pytest.raises(ConfigurationError, match="'pickle' is refused"):
        load_settings()


def test_a_caller_asking_for_pickle_gets_its_task_parked_unexecuted(start_service, task_settings, tmp_path, management):
    ledger = tmp_path / "ledger.sqlite"
    start_service(
        [entry_point("consumer-diagnostics"), "--concurrency=1"], [RECORD], env={"DIAGNOSTICS_LEDGER_PATH": str(ledger)}
    )
    app = create_app(diagnostics.CONTRACTS, task_settings)
    record = app.tasks[RECORD]
    pickled = record.apply_async(kwargs={"key": "pickled"}, serializer="pickle")  # kombu still knows pickle here
    with pytest.raises(MessageRejected, match="Refusing to deserialize untrusted content of type pickle"):
        pickled.get(timeout=30)
    parked = wait_for_parked(management, task_settings.vhost, DLQ, 1)
    assert parked[0]["x-error-type"] == "ContentDisallowed"
    assert record.delay(key="json").get(timeout=30).first
    assert set(faults.read_ledger(ledger).runs) == {"json"}, "the pickled task never ran"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("signing")
    producer = certs.self_signed(base / "producer", "producer")
    worker = certs.self_signed(base / "worker", "worker")
    mallory = certs.self_signed(base / "mallory", "mallory")
    store = base / "trusted"
    store.mkdir()
    for issued in (producer, worker):
        (store / issued.cert.name).write_bytes(issued.cert.read_bytes())
    return {"producer": producer, "worker": worker, "mallory": mallory, "store": store}


def signed_settings(settings, issued, store):
    return settings.model_copy(
        update={
            "serializer": "auth",
            "security_key": str(issued.key),
            "security_certificate": str(issued.cert),
            "security_cert_store": str(store),
        }
    )


def sealed(issued, body, store=None):
    """A body signed with ``issued``'s key, exactly as the auth serializer packs it."""
    serializer = SecureSerializer(
        PrivateKey(issued.key.read_text()), Certificate(issued.cert.read_text()), None, "sha256", "json"
    )
    return serializer.serialize(body)


def publish(app, body, content_type, task_id):
    with app.producer_or_acquire() as producer:
        app.backend.on_task_call(producer, task_id)
        producer.publish(
            body,
            exchange=RECORD,
            routing_key=RECORD,
            content_type=content_type,
            content_encoding="utf-8",
            headers={"lang": "py", "task": RECORD, "id": task_id, "root_id": task_id, "retries": 0},
            reply_to=app.backend.oid,
            correlation_id=task_id,
            delivery_mode=2,
            retry=True,
        )


def test_signed_messages_run_and_unsigned_forged_or_tampered_ones_are_refused(
    start_service, task_settings, keys, tmp_path, management
):
    ledger = tmp_path / "ledger.sqlite"
    worker_settings = signed_settings(task_settings, keys["worker"], keys["store"])
    start_service(
        [entry_point("consumer-diagnostics"), "--concurrency=1"],
        [RECORD],
        env={"DIAGNOSTICS_LEDGER_PATH": str(ledger)},
        settings=worker_settings,
    )

    # 1. A producer signing with a trusted key: the round trip works (the result comes back as JSON).
    client = tmp_path / "signed_client.py"
    client.write_text(SIGNED_CLIENT)
    env = settings_env(signed_settings(task_settings, keys["producer"], keys["store"]))
    run = subprocess.run(
        [sys.executable, str(client), "signed-1", "signed-2"],
        env={**faults.os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["signed-1"]["first"] and outcome["signed-2"]["first"], outcome

    plain = create_app(diagnostics.CONTRACTS, task_settings)
    plain.declare_topology_once(RECORD)
    body = lambda key: [[], {"key": key}, EMBED]  # noqa: E731

    # 2. Unsigned JSON, 3. signed by an untrusted key, 4. signed, then altered on the way.
    unsigned_id, forged_id, tampered_id = (str(uuid.uuid4()) for _ in range(3))
    publish(plain, json.dumps(body("unsigned")).encode(), "application/json", unsigned_id)
    publish(plain, sealed(keys["mallory"], body("forged")), "application/data", forged_id)
    genuine = base64.b64decode(sealed(keys["producer"], body("tampered")))
    tampered = base64.b64encode(genuine.replace(b'"tampered"', b'"tampereD"'))
    publish(plain, tampered, "application/data", tampered_id)

    parked = wait_for_parked(management, task_settings.vhost, DLQ, 3, timeout=60)
    reasons = {h["id"]: (h["x-error-type"], h["x-reason"]) for h in parked}
    for name, task_id in (("unsigned", unsigned_id), ("forged", forged_id), ("tampered", tampered_id)):
        print(f"signing: {name} message parked as {reasons[task_id][0]}: {reasons[task_id][1][:160]}")
    assert reasons[unsigned_id][0] == "ContentDisallowed"
    assert reasons[forged_id][0] in {"SecurityError", "DecodeError"}
    assert reasons[tampered_id][0] in {"SecurityError", "DecodeError"}
    runs = faults.read_ledger(ledger).runs
    assert set(runs) == {"signed-1", "signed-2"}, f"only the signed messages ran: {dict(runs)}"
