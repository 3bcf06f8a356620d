"""The crawlers (template, article, feed, JSON API) against the generated site, storing into SQLite."""

import datetime as dt

import pytest
from consumer_crawler.crawlers import ArticleCrawler, Crawler, FeedCrawler, JsonApiCrawler
from consumer_crawler.errors import LoginFailed, ParseError, UnsupportedContentType
from consumer_crawler.parsing import content_hash
from consumer_crawler.session import ApiSession
from sqlalchemy import func, select

from task_storage import Document


def document_count(store) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(Document))


def test_every_crawler_uses_the_template():
    for crawler in (ArticleCrawler, FeedCrawler, JsonApiCrawler):
        assert issubclass(crawler, Crawler)
        assert "crawl" not in crawler.__dict__  # the template method is never overridden


def test_article_is_stored_and_refetching_updates_the_same_row(site, context):
    article = site.articles[0]
    first = ArticleCrawler(context, "site").crawl(site.url(article.path))
    (item,) = first.items
    assert item.outcome == "new"
    assert item.title == article.title
    assert item.links == 3  # home and two other articles of the day
    assert item.document.day == article.day
    second = ArticleCrawler(context, "site").crawl(site.url(article.path) + "#again")
    assert second.items[0].outcome == "unchanged"
    assert second.items[0].document_id == item.document_id
    assert document_count(context.store) == 1
    with context.store.sessions() as session:
        row = session.get(Document, item.document_id)
    assert row.text.startswith(article.title)
    assert article.paragraphs[0] in row.text
    assert row.content_hash == content_hash(row.text)
    assert row.source == "site" and row.kind == "article" and row.status == 200


def test_changed_page_is_updated(site, context):
    site.pages["/custom/changing.html"] = (200, "text/html", b"<title>v1</title><p>version one</p>")
    first = ArticleCrawler(context, "site").crawl(site.url("/custom/changing.html")).items[0]
    site.pages["/custom/changing.html"] = (200, "text/html", b"<title>v2</title><p>version two</p>")
    second = ArticleCrawler(context, "site").crawl(site.url("/custom/changing.html")).items[0]
    assert (first.outcome, second.outcome) == ("new", "updated")
    assert first.document_id == second.document_id
    assert second.title == "v2"
    assert document_count(context.store) == 1


def test_redirected_page_is_stored_under_its_final_url(site, context):
    report = ArticleCrawler(context, "site").crawl(site.url("/redirect/2"))
    assert report.response.redirects
    assert report.items[0].url == site.url("/redirect/0")


def test_error_status_stores_nothing(site, context):
    report = ArticleCrawler(context, "site").crawl(site.url("/status/404"))
    assert report.response.status == 404
    assert report.items == []
    assert document_count(context.store) == 0


def test_wrong_content_type_raises(site, context):
    with pytest.raises(UnsupportedContentType):
        ArticleCrawler(context, "site").crawl(site.url("/feed.json"))


@pytest.mark.parametrize(
    ("path", "feed_format", "expected"),
    [
        ("/feed.xml", "auto", "rss20"),
        ("/atom.xml", "atom", "atom10"),
        ("/feed.json", "json", "jsonfeed"),
        ("/rss.xml", "rss", "rss20"),
    ],
)
def test_feed_entries_are_fetched_then_known(site, context, path, feed_format, expected):
    crawler = FeedCrawler(context, "feed", feed_format=feed_format, max_entries=4)
    report = crawler.crawl(site.url(f"{path}?limit=6"))
    assert report.format == expected
    assert report.title.startswith("Generated news")
    assert [item.outcome for item in report.items] == ["new"] * 4  # max_entries
    newest = sorted(site.articles, key=lambda a: a.published, reverse=True)[:4]
    assert [item.url for item in report.items] == [site.url(a.path) for a in newest]
    assert [item.document.day for item in report.items] == [a.day for a in newest]
    before = {a.path: site.hits[a.path] for a in newest}
    again = FeedCrawler(context, "feed", feed_format=feed_format, max_entries=4).crawl(site.url(path))
    assert [item.outcome for item in again.items] == ["unchanged"] * 4
    assert {a.path: site.hits[a.path] for a in newest} == before  # known entries are not fetched again
    assert document_count(context.store) == 4


def test_refetch_known_fetches_again(site, context):
    FeedCrawler(context, "feed", max_entries=2).crawl(site.url("/feed.xml"))
    newest = max(site.articles, key=lambda a: a.published)
    hits = site.hits[newest.path]
    report = FeedCrawler(context, "feed", max_entries=2, refetch_known=True).crawl(site.url("/feed.xml"))
    assert [item.outcome for item in report.items] == ["unchanged", "unchanged"]
    assert site.hits[newest.path] == hits + 1


def test_feed_content_can_be_stored_without_fetching_pages(site, context):
    report = FeedCrawler(context, "feed", fetch_entries=False, max_entries=3).crawl(site.url("/feed.json"))
    assert [item.outcome for item in report.items] == ["new"] * 3
    newest = max(site.articles, key=lambda a: a.published)
    with context.store.sessions() as session:
        row = session.scalars(select(Document).where(Document.url == site.url(newest.path))).one()
    assert row.kind == "feed_entry"
    assert row.text == " ".join(newest.text.split())
    assert row.day == newest.day


def test_failing_entries_are_counted_and_the_rest_stored(site, context):
    report = FeedCrawler(context, "feed").crawl(site.url("/feeds/mixed.xml"))
    outcomes = {item.url: (item.outcome, item.error) for item in report.items}
    assert report.count("new") == 1
    assert report.count("failed") == 3
    assert outcomes[site.url("/private/hidden.html")][1].startswith("RobotsDisallowed")
    assert outcomes[site.url("/status/404")][1].startswith("HTTP 404")
    assert outcomes["http://10.0.0.1/internal.html"][1].startswith("ForbiddenAddress")


@pytest.mark.usefixtures("odd_feeds")
def test_wrong_feed_format_is_refused(site, context):
    with pytest.raises(ParseError, match="expected an rss feed, found atom10"):
        FeedCrawler(context, "feed", feed_format="rss").crawl(site.url("/atom.xml"))
    with pytest.raises(ParseError, match="not a JSON Feed"):
        FeedCrawler(context, "feed", feed_format="json").crawl(site.url("/custom/plain.json"))


@pytest.fixture
def odd_feeds(site):
    site.pages["/custom/not-a-feed.xml"] = (200, "application/xml", b"<html><body>hello</body></html>")
    site.pages["/custom/plain.json"] = (200, "application/json", b'{"items": []}')


@pytest.mark.usefixtures("odd_feeds")
def test_an_xml_page_that_is_no_feed(site, context):
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        FeedCrawler(context, "feed").crawl(site.url("/custom/not-a-feed.xml"))


def test_json_api_logs_in_with_a_cookie_and_stores_one_item(site, context, api_session):
    article = site.articles[3]
    logins = site.logins
    report = JsonApiCrawler(context, "api", api_session).crawl(site.url(f"/api/articles/{article.id}"))
    (item,) = report.items
    assert item.outcome == "new"
    assert item.title == article.title
    assert item.links == 1
    assert item.document.day == article.day
    assert site.logins == logins + 1
    JsonApiCrawler(context, "api", api_session).crawl(site.url(f"/api/articles/{site.articles[4].id}"))
    assert site.logins == logins + 1  # the session is reused


def test_json_api_logs_in_again_when_the_session_expires(site, context, api_session):
    JsonApiCrawler(context, "api", api_session).crawl(site.url("/api/articles/1"))
    logins = site.logins
    site.expire_sessions()
    report = JsonApiCrawler(context, "api", api_session).crawl(site.url("/api/articles/2"))
    assert report.response.status == 200
    assert site.logins == logins + 1


def test_json_api_listing(site, context, api_session):
    crawler = JsonApiCrawler(context, "api", api_session, mode="listing", max_entries=5)
    page_hits = sum(site.hits[a.path] for a in site.articles)
    report = crawler.crawl(site.url("/api/articles"))
    assert report.format == "json_api"
    assert [item.outcome for item in report.items] == ["new"] * 5
    newest = sorted(site.articles, key=lambda a: a.published, reverse=True)[:5]
    with context.store.sessions() as session:
        stored = {row.url: row for row in session.scalars(select(Document))}
    assert set(stored) == {site.url(a.path) for a in newest}
    assert all(row.kind == "json_api" for row in stored.values())
    assert sum(site.hits[a.path] for a in site.articles) == page_hits  # items carry their text: no page fetched
    with pytest.raises(ParseError, match="not an item list"):
        JsonApiCrawler(context, "api", api_session, mode="listing").crawl(site.url("/api/articles/1"))
    with pytest.raises(ParseError, match="expected one JSON object"):
        JsonApiCrawler(context, "api", api_session).crawl(site.url("/api/articles"))


def test_json_api_wrong_password(site, context, http, make_settings):
    settings = make_settings(api_login_url=site.url("/api/login"), api_user="crawler", api_password="wrong")
    with pytest.raises(LoginFailed, match="refused for user 'crawler': HTTP 401"):
        JsonApiCrawler(context, "api", ApiSession(http, settings)).crawl(site.url("/api/articles/1"))


def test_json_api_form_login(site, context, http, make_settings):
    settings = make_settings(
        api_login_url=site.url("/api/login"),
        api_user=site.api_user,
        api_password=site.api_password,
        api_login_format="form",
    )
    report = JsonApiCrawler(context, "api", ApiSession(http, settings)).crawl(site.url("/api/articles/2"))
    assert report.items[0].outcome == "new"


def test_json_api_without_login_gets_the_error_status(site, context, http, make_settings):
    report = JsonApiCrawler(context, "api", ApiSession(http, make_settings())).crawl(site.url("/api/articles/1"))
    assert report.response.status == 401
    assert report.items == []


def test_feed_entry_dates_win_over_fetch_day(site, context):
    report = FeedCrawler(context, "feed", max_entries=1).crawl(site.url("/atom.xml"))
    assert report.items[0].document.day != dt.date(1970, 1, 1)
    assert report.items[0].document.day == max(site.articles, key=lambda a: a.published).day
