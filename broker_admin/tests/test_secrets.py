"""Credentials out of URLs, and the one scrubbing rule."""

from broker_admin import ManagementClient, scrub, split_credentials


def test_split_credentials_takes_user_and_password_out_of_the_url():
    assert split_credentials("http://127.0.0.1:15672/") == ("http://127.0.0.1:15672", None, None)
    assert split_credentials("http://ad%40min:p%3Ass@host:15672/x") == ("http://host:15672/x", "ad@min", "p:ss")
    assert split_credentials("https://u:p@[::1]:443") == ("https://[::1]:443", "u", "p")


def test_scrub_replaces_every_secret_of_the_asked_length():
    assert scrub("user pw1 said pw1", ["pw1", None, ""]) == "user *** said ***"
    assert scrub("a b", ["a"]) == "*** b"
    assert scrub("a b", ["a"], shortest=3) == "a b"


def test_a_client_keeps_credentials_only_in_its_session():
    client = ManagementClient("http://admin:hunter22@127.0.0.1:1")
    assert client.url == "http://127.0.0.1:1"
    assert client.session.auth == ("admin", "hunter22")
    assert "hunter22" not in repr(client)
    client.close()


class FakeSettings:
    management_url = "http://127.0.0.1:1/"

    def management_credentials(self):
        return "ops", "secret"


def test_from_settings_reads_any_settings_object_with_the_management_fields():
    with ManagementClient.from_settings(FakeSettings(), retries=0) as client:
        assert (client.url, client.session.auth) == ("http://127.0.0.1:1", ("ops", "secret"))
