"""The chart: a real PNG of the configured size with the threshold line and the crossing in red."""

import datetime as dt
import io
import warnings

import pytest
from consumer_alert.chart import (
    BAR_COLOUR,
    CROSSING_COLOUR,
    THRESHOLD_COLOUR,
    AlertChart,
    chart_filename,
    png_size,
    render_png,
    write_chart,
)
from consumer_alert.errors import ChartError
from PIL import Image

DAY = dt.date(2025, 3, 14)


def quiet_history(days=28):
    return [(DAY - dt.timedelta(days=n), 3 + n % 4) for n in range(days, 0, -1)]


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def colour_pixels(png: bytes, colour: str, tolerance: int = 8) -> list[tuple[int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    target = rgb(colour)
    width, height = image.size
    pixels = image.load()
    return [
        (x, y)
        for x in range(0, width, 2)
        for y in range(0, height, 2)
        if all(abs(a - b) <= tolerance for a, b in zip(pixels[x, y], target, strict=True))
    ]


def test_the_chart_is_a_png_of_the_configured_size():
    png = render_png(AlertChart.from_counts("rabbitmq", DAY, 31, 14.5, quiet_history()))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(png) == (1000, 500)
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG"
    assert image.size == (1000, 500)
    assert png_size(render_png(AlertChart.from_counts("rabbitmq", DAY, 31, 14.5, quiet_history()), 800, 400)) == (
        800,
        400,
    )


def test_the_crossing_is_red_the_threshold_orange_and_the_history_blue():
    png = render_png(AlertChart.from_counts("rabbitmq", DAY, 31, 14.5, quiet_history()))
    red = colour_pixels(png, CROSSING_COLOUR)
    orange = colour_pixels(png, THRESHOLD_COLOUR)
    blue = colour_pixels(png, BAR_COLOUR)
    assert red and orange and blue
    # The crossing bar is the right-most bar: its red pixels lie right of every history bar.
    red_bar = [(x, y) for x, y in red if y > 150]  # below the title and legend
    assert min(x for x, _ in red_bar) > max(x for x, y in blue if y > 150)
    # The threshold is a horizontal line: its orange pixels span most of the plot width at one height band.
    line = [(x, y) for x, y in orange if y > 150]
    assert max(x for x, _ in line) - min(x for x, _ in line) > 700
    assert max(y for _, y in line) - min(y for _, y in line) <= 4


def test_the_day_count_wins_over_the_history_and_days_are_sorted():
    history = [(DAY, 2), (DAY - dt.timedelta(days=1), 5), (DAY - dt.timedelta(days=3), 1)]
    chart = AlertChart.from_counts("kafka", DAY, 9, 4.0, history)
    assert chart.history == (
        (DAY - dt.timedelta(days=3), 1),
        (DAY - dt.timedelta(days=1), 5),
        (DAY, 9),
    )


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # CJK: boxes unless a CJK font is installed
@pytest.mark.parametrize(
    ("keyword", "history"),
    [
        ("kafka", []),  # no history at all: one bar
        (
            "Zürich $x^2$ " + "very long keyword " * 10,
            [(DAY - dt.timedelta(days=n), n % 400) for n in range(365, 0, -1)],
        ),
        ("日本語", quiet_history(3)),
    ],
)
def test_edge_cases_still_render_at_the_configured_size(keyword, history):
    png = render_png(AlertChart.from_counts(keyword, DAY, 900, 450.25, history))
    assert png_size(png) == (1000, 500)
    assert colour_pixels(png, CROSSING_COLOUR)


def test_chart_file_names_cannot_escape_the_folder(tmp_path):
    name = chart_filename("../../etc/passwd", DAY)
    assert "/" not in name and name.startswith("2025-03-14-etc-passwd-") and name.endswith(".png")
    # Keywords that slug alike stay apart.
    assert chart_filename("C++", DAY) != chart_filename("C#", DAY)
    path = write_chart(tmp_path / "charts", "../../etc/passwd", DAY, b"\x89PNG fake")
    assert path.parent == (tmp_path / "charts").resolve()
    assert path.read_bytes() == b"\x89PNG fake"
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left behind


def test_an_unwritable_chart_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ChartError, match="ALERT_CHART_DIR"):
        write_chart(blocker, "kafka", DAY, b"png")


def test_png_size_refuses_what_is_not_a_png():
    with pytest.raises(ChartError):
        png_size(b"GIF89a" + b"\x00" * 30)


@pytest.mark.parametrize("keyword", ["拉面", "ラーメン", "라면", "人工智能 AI 芯片"])
def test_cjk_keywords_are_drawn_with_every_glyph(keyword):
    chart = AlertChart.from_counts(keyword, DAY, 31, 14.5, quiet_history())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for a missing glyph
        png = render_png(chart)
    assert png_size(png) == (1000, 500)


def test_without_the_cjk_fallback_the_missing_glyphs_are_noticed():
    chart = AlertChart.from_counts("拉面", DAY, 31, 14.5, quiet_history())
    with pytest.warns(UserWarning, match="Glyph .* missing"):
        render_png(chart, fonts=["DejaVu Sans"])
