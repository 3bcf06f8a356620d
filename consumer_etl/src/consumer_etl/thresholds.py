"""Threshold finding: is a keyword's count on a day unusually high for it?

The rule, for one keyword and a day ``D`` (parameters from ``etl.find_thresholds``):

1. **Window**: the ``window_days`` days before ``D`` (``D - window_days`` to ``D - 1``;
   ``D`` itself is not part of its own history). ``x_i`` is the keyword's count on each
   of those days; a day without a stored count is **0**.
2. **History**: ``history_days`` = the days of the window that have a stored count, that
   is days that ``etl.map_keywords`` mapped and that had documents. With fewer than
   ``min_history`` such days there is no threshold (``None``), the status is
   ``not_enough_history`` and the keyword does not cross, whatever its count.
3. **Statistic**: ``median = median(x)``, ``MAD = median(|x_i - median|)``, and the robust
   spread ``sigma = max(1.4826 * MAD, min_spread)``; 1.4826 makes the MAD estimate a
   standard deviation for normally distributed counts.
4. **Threshold** ``T = median + k * sigma``; the keyword **crosses** when its count on ``D``
   (0 when the day has no stored count) is **strictly greater** than ``T``.

``min_spread`` (default 1) is the floor for a flat history: with ``MAD = 0`` the spread
would be 0 and a single mention above the median would alert. With the defaults (k = 3,
min_spread = 1) a keyword never seen in its window has ``T = 3``: counts 1 to 3 do not
alert, 4 does; a keyword seen exactly 10 times every day has ``T = 13``.

Because missing days count as 0, a keyword with only a few days of history has a low
median; ``min_history`` keeps it quiet until enough days were mapped.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from celery_tasks.tasks.etl import DailyCount, FindThresholdsArgs, FindThresholdsResult, KeywordThreshold
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from task_storage import KeywordCount

MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Statistic:
    """The robust statistic of one history."""

    median: float
    mad: float
    spread: float
    threshold: float


def robust_threshold(values: Sequence[int | float], k: float, min_spread: float) -> Statistic:
    """median + k * max(1.4826 * MAD, min_spread) of ``values`` (at least one value)."""
    if not values:
        raise ValueError("robust_threshold needs at least one value")
    median = float(statistics.median(values))
    mad = float(statistics.median(abs(value - median) for value in values))
    spread = max(MAD_SCALE * mad, min_spread)
    return Statistic(median=median, mad=mad, spread=spread, threshold=median + k * spread)


def judge(
    keyword: str, day: dt.date, count: int, history: Mapping[dt.date, int], args: FindThresholdsArgs
) -> KeywordThreshold:
    """Judge one keyword's count on ``day`` against its stored counts (``history``: day -> count)."""
    window = [day - dt.timedelta(days=offset) for offset in range(args.window_days, 0, -1)]
    series = [DailyCount(day=when, count=history.get(when, 0)) for when in window]
    history_days = sum(1 for when in window if when in history)
    statistic = robust_threshold([point.count for point in series], args.k, args.min_spread)
    if history_days < args.min_history:
        return KeywordThreshold(
            keyword=keyword,
            count=count,
            threshold=None,
            crossed=False,
            status="not_enough_history",
            median=statistic.median,
            mad=statistic.mad,
            history_days=history_days,
            history=series,
        )
    crossed = count > statistic.threshold
    return KeywordThreshold(
        keyword=keyword,
        count=count,
        threshold=statistic.threshold,
        crossed=crossed,
        status="crossed" if crossed else "below",
        median=statistic.median,
        mad=statistic.mad,
        history_days=history_days,
        history=series,
    )


def find_thresholds(engine: Engine, keyword_ids: Mapping[str, int], args: FindThresholdsArgs) -> FindThresholdsResult:
    """Judge every keyword of ``keyword_ids`` on ``args.day`` from the stored counts."""
    start = args.day - dt.timedelta(days=args.window_days)
    stored: dict[int, dict[dt.date, int]] = {identifier: {} for identifier in keyword_ids.values()}
    statement = select(KeywordCount.keyword_id, KeywordCount.day, KeywordCount.count).where(
        KeywordCount.day >= start, KeywordCount.day <= args.day
    )
    with Session(engine) as session:
        for keyword_id, when, count in session.execute(statement):
            if keyword_id in stored:
                stored[keyword_id][when] = count
    judged = []
    day_mapped = False
    for keyword, identifier in sorted(keyword_ids.items()):
        counts = stored[identifier]
        day_mapped = day_mapped or args.day in counts
        count = counts.pop(args.day, 0)
        judged.append(judge(keyword, args.day, count, counts, args))
    return FindThresholdsResult(
        day=args.day,
        day_mapped=day_mapped,
        keywords=judged,
        crossed=[item.keyword for item in judged if item.crossed],
    )
