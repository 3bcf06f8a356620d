"""Threshold statistic: median + k * scaled MAD, the spread floor, minimum history; and on a real database."""

import datetime as dt

import pytest
from celery_tasks.errors import InvalidArguments
from celery_tasks.tasks.etl import FindThresholds, FindThresholdsArgs
from consumer_etl.keywords import build_matcher, load_keywords, sync_keywords
from consumer_etl.mapping import map_day
from consumer_etl.settings import DEFAULT_STOPWORDS_FILE
from consumer_etl.text import load_stopwords
from consumer_etl.thresholds import MAD_SCALE, find_thresholds, judge, robust_threshold

DAY = dt.date(2024, 5, 31)


def history(values, end=DAY):
    """Stored counts for the days before ``end``, the last value on the day before."""
    return {end - dt.timedelta(days=len(values) - n): v for n, v in enumerate(values)}


def args(**overrides):
    return FindThresholdsArgs(day=DAY, **overrides)


def test_median_plus_k_scaled_mad():
    stat = robust_threshold([1, 2, 3, 4, 100], k=3, min_spread=0)
    assert stat.median == 3
    assert stat.mad == 1  # deviations 2, 1, 0, 1, 97
    assert stat.threshold == pytest.approx(3 + 3 * MAD_SCALE)
    assert MAD_SCALE == 1.4826


def test_one_outlier_in_the_history_barely_moves_the_threshold():
    calm = robust_threshold([10, 11, 9, 10, 12, 10, 9, 11], k=3, min_spread=1)
    spiky = robust_threshold([10, 11, 9, 10, 500, 10, 9, 11], k=3, min_spread=1)
    assert spiky.threshold == pytest.approx(calm.threshold)


def test_flat_zero_history_does_not_alert_on_a_few_mentions():
    flat = history([0] * 28)
    assert [judge("kw", DAY, count, flat, args()).crossed for count in range(6)] == [False] * 4 + [True] * 2
    result = judge("kw", DAY, 1, flat, args())
    assert result.threshold == 3.0
    assert result.status == "below"
    # Without the floor, one mention would alert.
    assert judge("kw", DAY, 1, flat, args(min_spread=0)).crossed


def test_flat_non_zero_history():
    flat = history([10] * 28)
    assert judge("kw", DAY, 13, flat, args()).crossed is False  # strictly greater
    crossed = judge("kw", DAY, 14, flat, args())
    assert crossed.crossed
    assert crossed.status == "crossed"
    assert crossed.threshold == 13.0
    assert (crossed.median, crossed.mad) == (10.0, 0.0)


def test_no_alert_before_the_minimum_history():
    six_days = history([1] * 6)
    short = judge("kw", DAY, 1000, six_days, args(min_history=7))
    assert short.crossed is False
    assert short.threshold is None
    assert short.status == "not_enough_history"
    assert short.history_days == 6
    seven_days = history([1] * 7)
    assert judge("kw", DAY, 1000, seven_days, args(min_history=7)).crossed


def test_missing_days_count_as_zero_and_history_is_the_whole_window():
    sparse = {DAY - dt.timedelta(days=d): 50 for d in (1, 3, 5, 7, 9, 11, 13, 15)}
    result = judge("kw", DAY, 20, sparse, args(window_days=28, min_history=8))
    assert len(result.history) == 28
    assert result.history[0].day == DAY - dt.timedelta(days=28)
    assert result.history[-1].day == DAY - dt.timedelta(days=1)
    assert [p.count for p in result.history].count(0) == 20
    assert result.history_days == 8
    assert result.median == 0  # 20 zeros out of 28 days
    assert result.crossed
    # Counts outside the window are ignored.
    older = {**sparse, DAY - dt.timedelta(days=40): 10_000}
    assert judge("kw", DAY, 20, older, args(window_days=28, min_history=8)) == result


def test_window_length_changes_the_history():
    counts = history([100] * 10 + [1] * 10)  # busy long ago, quiet lately
    assert judge("kw", DAY, 10, counts, args(window_days=10, min_history=5)).crossed
    assert not judge("kw", DAY, 10, counts, args(window_days=20, min_history=5)).crossed


def test_arguments_are_checked_by_the_contract():
    with pytest.raises(InvalidArguments, match="min_history"):
        FindThresholds.parse_arguments(kwargs={"day": "2024-01-01", "window_days": 5, "min_history": 6})
    with pytest.raises(InvalidArguments, match="k"):
        FindThresholds.parse_arguments(kwargs={"day": "2024-01-01", "k": 0})


def test_find_thresholds_on_mapped_days(engine, seed, keywords_path):
    specs = load_keywords(keywords_path({"rabbitmq": ["rabbit mq"], "python": [], "quiet": []}))
    matcher = build_matcher(specs, load_stopwords(DEFAULT_STOPWORDS_FILE))
    ids = sync_keywords(engine, specs)
    for back in range(14, 0, -1):
        day = DAY - dt.timedelta(days=back)
        seed(engine, day, ["rabbitmq news"] * (2 + back % 2) + ["python"] * 5 + ["other"])
        map_day(engine, day, matcher, ids)
    seed(engine, DAY, ["Rabbit MQ outage"] * 12 + ["python"] * 6)
    map_day(engine, DAY, matcher, ids)

    result = find_thresholds(engine, ids, FindThresholdsArgs(day=DAY, window_days=14, min_history=7))
    by_name = {item.keyword: item for item in result.keywords}
    assert result.day_mapped
    assert result.crossed == ["rabbitmq"]
    assert [item.keyword for item in result.keywords] == ["python", "quiet", "rabbitmq"]
    rabbit = by_name["rabbitmq"]
    assert rabbit.count == 12
    assert rabbit.history_days == 14
    assert rabbit.median == 2.5
    assert rabbit.threshold == pytest.approx(2.5 + 3 * max(MAD_SCALE * 0.5, 1.0))
    assert [p.count for p in rabbit.history] == [2 + back % 2 for back in range(14, 0, -1)]
    assert DAY not in [p.day for p in rabbit.history]
    assert by_name["python"].status == "below"
    assert by_name["python"].threshold == 8.0  # flat 5, spread floored at 1
    assert (by_name["quiet"].count, by_name["quiet"].crossed) == (0, False)

    # Too little history for a 28-day window with min_history 20: nobody crosses.
    strict = find_thresholds(engine, ids, FindThresholdsArgs(day=DAY, window_days=28, min_history=20))
    assert strict.crossed == []
    assert {item.status for item in strict.keywords} == {"not_enough_history"}

    # A day that was never mapped says so.
    later = find_thresholds(engine, ids, FindThresholdsArgs(day=DAY + dt.timedelta(days=3), window_days=14))
    assert later.day_mapped is False
    assert later.crossed == []
