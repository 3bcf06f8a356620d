"""URL normalisation and the address policy."""

import ipaddress

import httpx
import pytest
from consumer_crawler.addresses import AddressPolicy, address_category
from consumer_crawler.errors import ForbiddenAddress, UnsupportedURL
from consumer_crawler.transport import GuardedTransport
from consumer_crawler.urls import absolute_url, normalise_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/a/b?x=1#frag", "http://example.com/a/b?x=1"),
        ("https://example.com:443/", "https://example.com/"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/p", "http://example.com:8080/p"),
        ("http://example.com/p?b=2&a=1&&c=", "http://example.com/p?a=1&b=2&c="),
        ("http://user:secret@example.com/p", "http://example.com/p"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://example.com./Path", "http://example.com/Path"),
    ],
)
def test_normalise_url(url, expected):
    assert normalise_url(url) == expected


def test_same_document_under_different_spellings():
    spellings = ["http://EXAMPLE.com/p?b=2&a=1", "http://example.com:80/p?a=1&b=2#top", "http://example.com/p?a=1&b=2"]
    assert len({normalise_url(url) for url in spellings}) == 1


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "http:///nohost"])
def test_only_http_urls_with_a_host(url):
    with pytest.raises(UnsupportedURL):
        normalise_url(url)


def test_absolute_url_resolves_and_skips_non_http_links():
    assert absolute_url("http://a.example/dir/page", "../x?b=1&a=2#f") == "http://a.example/x?a=2&b=1"
    assert absolute_url("http://a.example/", "mailto:me@a.example") is None
    assert absolute_url("http://a.example/", "#top") is None
    assert absolute_url("http://a.example/", "javascript:void(0)") is None


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("2002:a00:1::", "private"),  # 6to4 wrapping 10.0.0.1
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_categories(address, category):
    assert address_category(ipaddress.ip_address(address)) == category


def test_policy_allows_only_what_is_configured():
    loopback, private, metadata = (ipaddress.ip_address(a) for a in ("127.0.0.1", "10.1.2.3", "169.254.169.254"))
    strict = AddressPolicy()
    assert strict.refusal(loopback) == "loopback"
    assert strict.refusal(private) == "private"
    relaxed = AddressPolicy(allow_loopback=True, allow_private=True)
    assert relaxed.refusal(loopback) is None
    assert relaxed.refusal(private) is None
    assert relaxed.refusal(metadata) == "cloud metadata"  # never allowed


def test_host_names_are_checked_after_resolution():
    with pytest.raises(ForbiddenAddress, match=r"localhost \((127\.0\.0\.1|::1)\): loopback address"):
        AddressPolicy().resolve("localhost", 80)
    assert AddressPolicy(allow_loopback=True).resolve("localhost", 80)


def test_the_transport_itself_refuses_before_connecting():
    """Even a request that skips the crawler's own checks cannot reach a forbidden address."""
    transport = GuardedTransport(AddressPolicy(allow_loopback=True), httpx.Limits())
    with httpx.Client(transport=transport, timeout=30) as client:
        for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[fe80::1]/"):
            with pytest.raises(ForbiddenAddress):
                client.get(url)
