"""Queue statistics, consumers, message bodies and the consumer count, from canned API answers."""

import base64

import pytest

from broker_admin import (
    ConsumerInfo,
    ManagementAPIError,
    ManagementClient,
    ManagementNotFound,
    QueueStats,
    message_body,
)


def test_queue_stats_from_the_api_with_missing_statistics():
    stats = QueueStats.from_api(
        {
            "name": "q",
            "vhost": "v",
            "type": "quorum",
            "messages_ready": 3,
            "messages_unacknowledged": 2,
            "consumers": 1,
            "message_stats": {"publish": 7, "publish_details": {"rate": 1.5}},
        }
    )
    assert (stats.ready, stats.unacked, stats.messages, stats.consumers) == (3, 2, 5, 1)
    assert (stats.publish_rate, stats.deliver_rate, stats.published, stats.acked) == (1.5, 0.0, 7, 0)
    assert QueueStats.from_api({"name": "empty"}).messages == 0


def test_consumer_info_from_the_api():
    info = ConsumerInfo.from_api(
        {"queue": {"name": "q"}, "channel_details": {"connection_name": "c"}, "prefetch_count": 1, "consumer_tag": "t"}
    )
    assert info == ConsumerInfo("q", "t", "c", 1, True, True)


def test_message_body_decodes_base64_payloads():
    assert message_body({"payload": "[1]", "payload_encoding": "string"}) == "[1]"
    assert message_body({"payload": base64.b64encode(b"\x00ab").decode(), "payload_encoding": "base64"}) == b"\x00ab"
    assert message_body({"payload": "!!", "payload_encoding": "base64"}) == b""


class Canned(ManagementClient):
    def __init__(self, answer):
        super().__init__("http://127.0.0.1:1", retries=0)
        self.answer = answer

    def request(self, method, path, *, secrets=(), **kwargs):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_consumer_count_is_zero_for_a_missing_queue_and_other_errors_raise():
    assert Canned({"consumers": 2}).consumer_count("v", "q") == 2
    assert Canned({}).consumer_count("v", "q") == 0
    assert Canned(ManagementNotFound("gone")).consumer_count("v", "q") == 0
    with pytest.raises(ManagementAPIError):
        Canned(ManagementAPIError("500")).consumer_count("v", "q")
