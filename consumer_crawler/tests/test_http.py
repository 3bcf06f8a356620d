"""The HTTP client against the generated site on loopback: limits, retries, redirects, refusals, charsets."""

import datetime as dt
import email.utils
import re
import threading

import pytest
from celery_tasks_devtools.site import JAPANESE_TEXT, LATIN1_TEXT, RUSSIAN_TEXT, CrawlerTestSite
from consumer_crawler.errors import (
    BodyTooLarge,
    FetchFailed,
    ForbiddenAddress,
    RateLimited,
    RobotsDisallowed,
    ServerUnavailable,
    TooManyRedirects,
    UnsupportedContentType,
)
from consumer_crawler.http import HttpClient
from consumer_crawler.parsing import parse_html
from consumer_crawler.politeness import PolitenessGate
from consumer_crawler.responses import FEED_TYPES, HTML_TYPES, retry_after_seconds


def test_fetches_an_article(site, http):
    article = site.articles[0]
    response = http.fetch(site.url(article.path), accept=HTML_TYPES)
    assert response.ok
    assert response.status == 200
    assert response.media_type == "text/html"
    assert response.redirects == ()
    assert article.title in response.text


def test_loopback_is_refused_unless_allowed(site, make_settings):
    with HttpClient(make_settings(allow_loopback=False)) as strict, pytest.raises(ForbiddenAddress, match="loopback"):
        strict.fetch(site.url("/"), accept=HTML_TYPES)


def test_loopback_refusal_sends_nothing(site, make_settings):
    before = dict(site.hits)
    with HttpClient(make_settings(allow_loopback=False)) as strict, pytest.raises(ForbiddenAddress):
        strict.fetch(site.url("/never-requested"), accept=HTML_TYPES)
    assert site.hits.get("/never-requested", 0) == 0
    assert dict(site.hits) == before


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address"),
        ("http://10.0.0.1/admin", "private address"),
        ("http://[::ffff:10.0.0.1]/", "private address"),
        ("http://0.0.0.0:8080/", "unspecified address"),
        ("http://224.0.0.1/", "multicast address"),
    ],
)
def test_redirect_to_a_forbidden_address_is_refused_before_connecting(site, http, target, reason):
    with pytest.raises(ForbiddenAddress, match=reason):
        http.fetch(site.url(f"/redirect-to?url={target}"), accept=HTML_TYPES)


def test_redirect_to_a_non_http_scheme_is_refused(site, http):
    with pytest.raises(Exception, match="only http and https"):
        http.fetch(site.url("/redirect-to?url=file:///etc/passwd"), accept=HTML_TYPES)


def test_redirects_are_followed_up_to_the_cap(site, http):
    response = http.fetch(site.url("/redirect/5"), accept=HTML_TYPES)
    assert response.status == 200
    assert len(response.redirects) == 5
    assert response.url.endswith("/redirect/0")
    assert "End of the redirects" in response.text


def test_redirect_chain_beyond_the_cap_fails(site, http, make_settings):
    reached_end = site.hits["/redirect/0"]
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        http.fetch(site.url("/redirect/6"), accept=HTML_TYPES)
    assert site.hits["/redirect/0"] == reached_end  # the sixth redirect was not followed
    with HttpClient(make_settings(max_redirects=1)) as short, pytest.raises(TooManyRedirects):
        short.fetch(site.url("/redirect/2"), accept=HTML_TYPES)


def test_robots_txt_is_respected_and_cached(site, http):
    with pytest.raises(RobotsDisallowed, match=r"disallows .*/private/secret.html"):
        http.fetch(site.url("/private/secret.html"), accept=HTML_TYPES)
    assert site.hits["/private/secret.html"] == 0
    robots_fetches = site.hits["/robots.txt"]
    http.fetch(site.url(site.articles[1].path), accept=HTML_TYPES)
    http.fetch(site.url(site.articles[2].path), accept=HTML_TYPES)
    assert site.hits["/robots.txt"] == robots_fetches  # cached per origin


def test_robots_txt_can_be_ignored_by_configuration(site, make_settings):
    with HttpClient(make_settings(respect_robots=False)) as client:
        response = client.fetch(site.url("/private/allowed-now.html"), accept=HTML_TYPES)
    assert response.status == 200


def test_read_timeout_is_retried_then_fails(site, make_settings):
    client = HttpClient(make_settings(read_timeout=0.3, retries=1))
    with client, pytest.raises(FetchFailed, match=r"ReadTimeout.*after 2 attempts"):
        client.fetch(site.url("/slow?seconds=2"), accept=HTML_TYPES)


def test_server_errors_are_retried_until_success(site, http):
    response = http.fetch(site.url("/flaky/twice?fail=2"), accept=HTML_TYPES)
    assert response.status == 200
    assert response.attempts == 3
    assert site.hits["/flaky/twice"] == 3
    assert "the server recovered" in response.text


def test_server_errors_beyond_the_retries_fail(site, http):
    with pytest.raises(ServerUnavailable, match=r"still HTTP 503 after 3 attempts"):
        http.fetch(site.url("/flaky/always?fail=10&status=503"), accept=HTML_TYPES)
    assert site.hits["/flaky/always"] == 3


def test_429_honours_retry_after(site, make_settings):
    slept = []
    with HttpClient(make_settings(), sleep=slept.append) as client:
        response = client.fetch(site.url("/ratelimited/once?fail=1&after=2"), accept=HTML_TYPES)
    assert response.status == 200
    assert response.attempts == 2
    assert slept == [2.0]  # the server's Retry-After, not the backoff


def test_429_with_a_retry_after_over_the_cap_fails_at_once(site, http):
    with pytest.raises(RateLimited, match="Retry-After 7200 s, over the 60 s"):
        http.fetch(site.url("/ratelimited/long?fail=5&after=7200"), accept=HTML_TYPES)
    assert site.hits["/ratelimited/long"] == 1


def test_429_beyond_the_retries_fails(site, make_settings):
    client = HttpClient(make_settings(retries=1), sleep=lambda _: None)
    with client, pytest.raises(RateLimited, match="still HTTP 429"):
        client.fetch(site.url("/ratelimited/many?fail=5&after=1"), accept=HTML_TYPES)


def test_backoff_grows_exponentially_with_jitter(site, make_settings):
    slept = []
    settings = make_settings(retries=4, backoff_base=1.0, backoff_max=100.0)
    with HttpClient(settings, sleep=slept.append) as client, pytest.raises(ServerUnavailable):
        client.fetch(site.url("/flaky/backoff?fail=10"), accept=HTML_TYPES)
    assert len(slept) == 4
    for attempt, pause in enumerate(slept):
        ceiling = 2.0**attempt
        assert ceiling / 2 <= pause <= ceiling


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    parsed = retry_after_seconds(email.utils.format_datetime(later, usegmt=True))
    assert parsed is not None and 80 <= parsed <= 91
    assert retry_after_seconds("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0


def test_oversized_body_with_content_length_is_refused_unread(site, http):
    with pytest.raises(BodyTooLarge, match="Content-Length 2000000 bytes is over the limit of 1048576"):
        http.fetch(site.url("/big?bytes=2000000"), accept=HTML_TYPES)


def test_oversized_streamed_body_is_abandoned(site, http):
    with pytest.raises(BodyTooLarge, match="reading stopped"):
        http.fetch(site.url("/big-stream?bytes=3000000"), accept=HTML_TYPES)


def test_body_under_the_limit_is_read(site, http):
    response = http.fetch(site.url("/big-stream?bytes=500000"), accept=HTML_TYPES)
    assert len(response.content) == 500000


@pytest.mark.parametrize(("path", "kind"), [("/image.png", "image/png"), ("/no-type", "(none)")])
def test_wrong_content_type_is_refused(site, http, path, kind):
    with pytest.raises(UnsupportedContentType, match=re.escape(f"content type '{kind}' is not read here")):
        http.fetch(site.url(path), accept=HTML_TYPES)


def test_feed_types_are_not_html(site, http):
    with pytest.raises(UnsupportedContentType):
        http.fetch(site.url("/feed.xml"), accept=HTML_TYPES)
    assert http.fetch(site.url("/feed.xml"), accept=FEED_TYPES).ok


@pytest.mark.parametrize(
    ("path", "encoding", "expected"),
    [
        ("/charset/latin1.html", "cp1252", LATIN1_TEXT),  # ISO-8859-1 label read as windows-1252 (the euro sign)
        ("/charset/koi8.html", "koi8_r", RUSSIAN_TEXT),  # <meta charset> only
        ("/charset/cp1251.html", "cp1251", RUSSIAN_TEXT),  # no declaration: detected
        ("/charset/shift_jis.html", "shift_jis", JAPANESE_TEXT),  # header charset
    ],
)
def test_non_utf8_pages_are_decoded(site, http, path, encoding, expected):
    response = http.fetch(site.url(path), accept=HTML_TYPES)
    assert response.encoding == encoding
    assert expected in parse_html(response.text, response.url).text


def test_error_status_is_returned_not_raised(site, http):
    response = http.fetch(site.url("/status/404"), accept=HTML_TYPES)
    assert response.status == 404
    assert not response.ok
    assert response.content == b""


def test_the_shared_client_keeps_no_cookies(site, http):
    http.fetch(site.url("/set-cookie"), accept=HTML_TYPES)
    echoed = http.fetch(site.url("/echo-cookie"), accept=HTML_TYPES)
    assert "cookie: none" in echoed.text


def test_politeness_gate_spaces_requests_per_host():
    clock = [100.0]
    gate = PolitenessGate(clock=lambda: clock[0], sleep=lambda seconds: None)
    starts = [gate.reserve("a.example", 2.0) for _ in range(4)]
    assert starts == [100.0, 102.0, 104.0, 106.0]
    assert gate.reserve("b.example", 2.0) == 100.0  # other hosts are not held back
    clock[0] = 200.0
    assert gate.reserve("a.example", 2.0) == 200.0  # an idle host is free at once


def test_politeness_gate_is_shared_by_threads():
    clock_lock = threading.Lock()
    now = [0.0]

    def clock():
        with clock_lock:
            return now[0]

    gate = PolitenessGate(clock=clock, sleep=lambda seconds: None)
    starts = []
    threads = [threading.Thread(target=lambda: starts.append(gate.reserve("h", 0.5))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker thread did not finish within 60 s"
    assert sorted(starts) == [index * 0.5 for index in range(16)]


def test_politeness_delay_applies_to_every_request_of_a_host(site, make_settings):
    waits = []
    with HttpClient(make_settings(politeness_delay=0.05)) as client:
        original = client.gate.wait

        def recording_wait(host, delay):
            waits.append((host, delay))
            return original(host, delay)

        client.gate.wait = recording_wait
        client.fetch(site.url(site.articles[0].path), accept=HTML_TYPES)
        client.fetch(site.url(site.articles[1].path), accept=HTML_TYPES)
    assert waits == [("127.0.0.1", 0.05)] * 3  # robots.txt, then each page


def test_robots_crawl_delay_raises_the_delay(site, make_settings):
    slow_site = CrawlerTestSite(days=1, per_day=1, robots="User-agent: *\nCrawl-delay: 3\nDisallow:\n")
    client = HttpClient(make_settings(politeness_delay=0.0, max_crawl_delay=0.01))
    delays = []
    original = client.gate.wait
    client.gate.wait = lambda host, delay: delays.append(delay) or original(host, delay)
    with slow_site, client:
        client.fetch(slow_site.url(slow_site.articles[0].path), accept=HTML_TYPES)
    assert delays[-1] == 0.01  # Crawl-delay 3, capped by CRAWLER_MAX_CRAWL_DELAY


def test_unreachable_host_fails_after_retries(make_settings):
    client = HttpClient(make_settings(retries=1, respect_robots=False))
    with client, pytest.raises(FetchFailed, match=r"ConnectError.*after 2 attempts"):
        client.fetch("http://127.0.0.1:9/", accept=HTML_TYPES)


def test_robots_unreachable_disallows_the_host(make_settings):
    with HttpClient(make_settings(retries=0)) as client, pytest.raises(RobotsDisallowed):
        client.fetch("http://127.0.0.1:9/page.html", accept=HTML_TYPES)
