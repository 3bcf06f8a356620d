"""API keys, scopes and limits without a server: the keys file, verification, reloading, globs, quotas."""

import asyncio
import json
import time

import pytest
from producer.errors import KeysFileError
from producer.keys import KeysFile, KeyStore, create_key, read_keys_file, revoke_key, write_keys_file
from producer.quotas import InFlight, RateLimits
from producer.scopes import Caller, grants


def new_file(path, **options):
    keys, key = create_key(KeysFile(), "bot", submit=options.pop("submit", ["crawler.*"]), **options)
    write_keys_file(path, keys)
    return key


def test_the_file_holds_a_hash_never_the_key(tmp_path):
    path = tmp_path / "keys.json"
    key = new_file(path)
    text = path.read_text()
    secret = key.split("_", 2)[2]  # the secret is URL-safe base64: it may itself hold "_" (or start with one)
    assert key not in text and secret not in text
    record = read_keys_file(path).keys[0]
    assert record.hash.startswith("$argon2id$")
    assert key.startswith(f"ctk_{record.id}_")
    assert record.read == record.cancel == ["crawler.*"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_verify_accepts_the_key_and_refuses_everything_else(tmp_path):
    path = tmp_path / "keys.json"
    key = new_file(path)
    store = KeyStore(path)
    assert store.verify(key)[0].name == "bot"
    assert store.verify(key)[0].name == "bot"  # the remembered (HMAC) path
    key_id = key.split("_")[1]
    wrong = f"ctk_{key_id}_{'A' * 43}"
    assert store.verify(wrong) == (None, "wrong key")
    assert store.verify(f"ctk_{'0' * 12}_{'A' * 43}") == (None, "unknown key id")
    assert store.verify("not a key") == (None, "malformed key")
    assert store.verify(key + "x") == (None, "malformed key")


def test_revocation_and_new_keys_are_seen_without_a_new_store(tmp_path):
    path = tmp_path / "keys.json"
    old = new_file(path)
    store = KeyStore(path)
    assert store.verify(old)[0] is not None
    keys, new = create_key(read_keys_file(path), "bot-2", submit=["etl.*"])
    write_keys_file(path, keys)
    assert store.verify(old)[0] is not None and store.verify(new)[0] is not None  # both valid mid-rotation
    write_keys_file(path, revoke_key(read_keys_file(path), old.split("_")[1]))
    assert store.verify(old) == (None, "revoked key")
    assert store.verify(new)[0].name == "bot-2"


def test_a_broken_file_keeps_the_last_good_keys_and_says_why(tmp_path, caplog):
    path = tmp_path / "keys.json"
    key = new_file(path)
    store = KeyStore(path)
    path.write_text('{"keys": [{"id": "nope"}]}')
    assert store.verify(key)[0] is not None
    assert "not a valid keys file" in store.reload_error
    assert "keeping the previous API keys" in caplog.text


def test_missing_or_invalid_configuration_is_a_clear_error(tmp_path):
    with pytest.raises(KeysFileError, match="does not exist"):
        KeyStore(tmp_path / "absent.json")
    with pytest.raises(KeysFileError, match="PRODUCER_API_KEYS is not a valid keys file"):
        KeyStore(text="{}x")
    with pytest.raises(KeysFileError, match="rate must read like"):
        create_key(KeysFile(), "bot", submit=["*"], rate="fast")
    with pytest.raises(KeysFileError, match="no key with id"):
        revoke_key(KeysFile(), "0123456789ab")


def test_keys_from_an_environment_document(tmp_path):
    keys, key = create_key(KeysFile(), "env-bot", submit=["etl.*"])
    store = KeyStore(text=json.dumps(keys.model_dump(mode="json")))
    assert store.verify(key)[0].name == "env-bot"


@pytest.mark.parametrize(
    ("patterns", "contract", "granted"),
    [
        (["*"], "crawler.fetch_page", True),
        (["*"], "alert.send_alert", False),
        (["*"], "diagnostics.echo", False),
        (["*.*", "[ad]*"], "diagnostics.crash", False),
        (["alert.*"], "alert.send_alert", True),
        (["diagnostics.echo"], "diagnostics.echo", True),
        (["diagnostics.echo"], "diagnostics.crash", False),
        (["crawler.*"], "etl.map_keywords", False),
        ([], "crawler.fetch_page", False),
    ],
)
def test_globs_reach_the_restricted_families_only_when_named(patterns, contract, granted):
    assert grants(patterns, contract) is granted


def test_read_and_cancel_need_the_submit_scope_too():
    keys, _ = create_key(KeysFile(), "bot", submit=["crawler.*"], read=["*"], cancel=["crawler.fetch_page"])
    caller = Caller(keys.keys[0])
    assert caller.may("read", "crawler.crawl_feed")
    assert not caller.may("read", "etl.map_keywords")  # read says *, submit does not cover it
    assert caller.may("cancel", "crawler.fetch_page")
    assert not caller.may("cancel", "crawler.crawl_feed")


def test_rate_limit_counts_per_key_and_says_when_to_retry():
    rates = RateLimits()
    assert [rates.hit("a", "3/minute") for _ in range(3)] == [None, None, None]
    wait = rates.hit("a", "3/minute")
    assert wait is not None and 1 <= wait <= 60
    assert rates.hit("b", "3/minute") is None


def test_in_flight_cap_counts_reservations_and_drops_finished_tasks():
    finished: set[str] = set()

    async def is_done(task_id):
        return task_id in finished

    async def scenario():
        flight = InFlight()
        first = await flight.reserve("k", 2, is_done)
        second = await flight.reserve("k", 2, is_done)
        assert await flight.reserve("k", 2, is_done) is None  # two reserved, none settled yet
        flight.settle(first, "t1")
        flight.settle(second, None)  # the submit failed: its slot is free again
        third = await flight.reserve("k", 2, is_done)
        flight.settle(third, "t3")
        assert await flight.reserve("k", 2, is_done) is None
        finished.add("t1")
        assert await flight.reserve("k", 2, is_done) is not None
        assert flight.count("other") == 0

    asyncio.run(scenario())


def test_a_remembered_key_is_checked_much_faster_than_argon2(tmp_path):
    """Side by side in one run: the argon2 verification against the remembered (HMAC) path."""
    path = tmp_path / "keys.json"
    key = new_file(path)
    store = KeyStore(path)
    started = time.perf_counter()
    store.verify(key)  # first: argon2
    slow = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(20):
        store.verify(key)
    fast = (time.perf_counter() - started) / 20
    print(f"argon2 verify {slow * 1000:.1f} ms, remembered {fast * 1e6:.0f} us, ratio {slow / fast:.0f}")
    assert store.verify(key)[0] is not None
