"""The alert chart: a keyword's daily counts as bars, its threshold as a dashed line, the crossing in red.

Drawn with matplotlib's object API straight onto the Agg (headless raster) canvas: no
pyplot, no display, no global figure state, whatever MPLBACKEND says, so it is safe in
worker processes and threads. The PNG is exactly
``width`` x ``height`` pixels (1000 x 500 by default), readable in a mail client.

Text is drawn in DejaVu Sans with a CJK font as fallback (matplotlib picks, glyph by
glyph, the first font of the list that has it), so a Chinese, Japanese or Korean keyword
shows in the title: WenQuanYi Micro Hei (Debian's ``fonts-wqy-microhei``, installed by
``make`` and in the alert image) or Noto Sans CJK (``fonts-noto-cjk``), whichever is there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from consumer_alert.errors import ChartError

DPI = 100
BAR_COLOUR = "#7a9cc6"
CROSSING_COLOUR = "#d62728"
THRESHOLD_COLOUR = "#ff7f0e"
MIN_DAYS_SHOWN = 14
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: CJK fonts to fall back on, by family name and by the file Debian's package installs.
CJK_FONTS = (
    ("WenQuanYi Micro Hei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    ("Noto Sans CJK JP", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


def available_fonts() -> tuple[str, ...]:
    """DejaVu Sans, then each CJK font that is installed (registered by file: matplotlib's cache may predate it)."""
    known = {font.name for font in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans"]
    for family, path in CJK_FONTS:
        if family not in known and Path(path).is_file():
            font_manager.fontManager.addfont(path)
            known.add(family)
        if family in known:
            families.append(family)
    return tuple(families)


FONTS = available_fonts()


@dataclass(frozen=True)
class AlertChart:
    """What the chart shows: one keyword's counts per day, the day that crossed and its threshold."""

    keyword: str
    day: dt.date
    count: int
    threshold: float
    history: tuple[tuple[dt.date, int], ...]

    @classmethod
    def from_counts(
        cls, keyword: str, day: dt.date, count: int, threshold: float, history: Iterable[tuple[dt.date, int]]
    ) -> AlertChart:
        """Merge the history with the day's own count (which wins), oldest day first."""
        counts = dict(history)
        counts[day] = count
        return cls(keyword, day, count, threshold, tuple(sorted(counts.items())))


def render_png(chart: AlertChart, width: int = 1000, height: int = 500, fonts: Sequence[str] = FONTS) -> bytes:
    """The chart as PNG of exactly ``width`` x ``height`` pixels, each glyph from the first of ``fonts`` that has it."""
    family = list(fonts)
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    days = [day for day, _ in chart.history]
    counts = [count for _, count in chart.history]
    colours = [CROSSING_COLOUR if day == chart.day else BAR_COLOUR for day in days]
    axes.bar(days, counts, width=0.8, color=colours, edgecolor="none", zorder=2)  # type: ignore[arg-type]
    axes.axhline(
        chart.threshold,
        color=THRESHOLD_COLOUR,
        linestyle="--",
        linewidth=2,
        zorder=3,
        label=f"threshold {chart.threshold:g}",
    )
    top = max([*counts, chart.threshold, 1.0])
    axes.set_ylim(0, top * 1.22)
    first, last = days[0], days[-1]
    span = (last - first).days
    position = (chart.day - first).days / span if span else 0.5
    align, shift = ("right", 6) if position > 0.85 else ("left", -6) if position < 0.15 else ("center", 0)
    axes.annotate(
        f"{chart.count} on {chart.day:%d %b}",
        xy=(chart.day, chart.count),
        xytext=(shift, 8),
        textcoords="offset points",
        ha=align,
        va="bottom",
        color=CROSSING_COLOUR,
        fontweight="bold",
        fontsize=12,  # digits and an English month: DejaVu Sans has them (and a bold face)
        parse_math=False,
        zorder=4,
    )
    padding = max(1, (MIN_DAYS_SHOWN - span) // 2)
    axes.set_xlim(first - dt.timedelta(days=padding), last + dt.timedelta(days=padding))  # type: ignore[arg-type]
    _format_date_axis(axes, span + 2 * padding)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color="#dddddd", zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_xlabel(_date_axis_label(first, last), fontsize=11, fontfamily=family)
    axes.set_ylabel("documents mentioning the keyword", fontsize=11, fontfamily=family)
    keyword = shorten(chart.keyword, 40)
    axes.set_title(
        f"“{keyword}”: {chart.count} documents on {chart.day:%a %d %b %Y}, threshold {chart.threshold:g}",
        fontsize=13,
        fontfamily=family,
        loc="left",
        parse_math=False,
    )
    handles, _ = axes.get_legend_handles_labels()
    crossed = "over the threshold" if chart.count > chart.threshold else "the alert's day"
    handles.append(Patch(color=BAR_COLOUR, label="documents per day"))
    handles.append(Patch(color=CROSSING_COLOUR, label=f"{chart.day:%d %b %Y}: {crossed}"))
    axes.legend(handles=handles, loc="upper left", frameon=False, prop={"family": family, "size": 10})
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (no word splitting rules: keywords are short)."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _format_date_axis(axes: Axes, span: int) -> None:
    """Day-and-month ticks, about ten of them, up to four months; month ticks beyond."""
    if span <= 120:
        # matplotlib.dates is not annotated: its constructors count as untyped calls.
        interval = max(1, math.ceil((span + 1) / 10))
        locator: mdates.DateLocator = mdates.DayLocator(interval=interval)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))  # type: ignore[no-untyped-call]
        if span <= 45:
            axes.xaxis.set_minor_locator(mdates.DayLocator())  # type: ignore[no-untyped-call]
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=12)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _date_axis_label(first: dt.date, last: dt.date) -> str:
    """The x label: "day" and the year(s) the axis covers."""
    years = str(first.year) if first.year == last.year else f"{first.year} to {last.year}"
    return f"day ({years})"


def chart_filename(keyword: str, day: dt.date) -> str:
    """A safe file name for the chart: the day, a slug of the keyword and a hash that keeps keywords apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", keyword.lower()).strip("-")[:50] or "keyword"
    digest = hashlib.sha256(keyword.encode()).hexdigest()[:8]
    return f"{day.isoformat()}-{slug}-{digest}.png"


def write_chart(directory: Path, keyword: str, day: dt.date, png: bytes) -> Path:
    """Write the PNG into ``directory`` atomically (a redelivered task replaces it whole); returns its path."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / chart_filename(keyword, day)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".chart-", suffix=".png")
        with os.fdopen(handle, "wb") as stream:
            stream.write(png)
        Path(temporary).replace(path)
    except OSError as exc:
        raise ChartError(f"cannot write the chart into {directory} (ALERT_CHART_DIR): {exc}") from exc
    return path.resolve()


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; ChartError when the bytes are not a PNG."""
    if len(png) < 24 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ChartError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
