"""The HTML report: its structure, and what a real headless Chromium shows of it."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compactifai.compare import ComparisonReport, ModelPair, Observation, WorkItem
from compactifai.compare.report_html import HEADER_BG, PALETTE

SLIM, ORIG = "cai-llama-3-3-70b-slim", "llama-3-3-70b"
N = 6


def make_report() -> ComparisonReport:
    items = [WorkItem(f"q{i}", f"q{i}", f"Question {i} <b>?</b>") for i in range(N)]
    observations = []
    for i in range(N):
        observations.append(
            Observation(ORIG, f"q{i}", f"answer {i} from the original", ttft=0.05 + 0.01 * i,
                        latency=0.4 + 0.1 * i, input_tokens=20, output_tokens=30)
        )  # fmt: skip
        slim_text = f"answer {i} from the original" if i % 2 else f"<script>alert({i})</script>"
        observations.append(
            Observation(SLIM, f"q{i}", slim_text, ttft=0.02 + 0.005 * i,
                        latency=0.2 + 0.05 * i, input_tokens=20, output_tokens=28)
        )  # fmt: skip
    observations[-1] = Observation(SLIM, f"q{N - 1}", error="APITimeoutError: timed out")
    return ComparisonReport.build(
        "prompts", [SLIM, ORIG], items, observations, [ModelPair(SLIM, ORIG)]
    )


class Outline(HTMLParser):
    """Tags, ids, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.circles: list[dict[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids.append(values["id"])
        self.attrs.extend(values.items())
        if tag == "circle":
            self.circles.append(values)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_page_structure() -> None:
    report = make_report()
    page = report.to_html(title="Slim vs original")
    outline = Outline()
    outline.feed(page)
    assert {"models-table", "pairs-table", "latency-chart"} <= set(outline.ids)
    # Self-contained: no script, no external resource of any kind.
    assert "script" not in outline.tags
    assert not [v for k, v in outline.attrs if k in ("src", "href")]
    assert "url(" not in page and "@import" not in page
    # A dot per successful request, a ring per TTFT; 11 of 12 requests succeeded.
    filled = [c for c in outline.circles if c.get("fill") != "none"]
    rings = [c for c in outline.circles if c.get("fill") == "none"]
    assert len(filled) == len(rings) == 2 * N - 1
    assert {c["fill"] for c in filled} == {PALETTE[0], PALETTE[1]}
    # Answers are escaped text, worst disagreement (the error) first.
    assert "<script>alert(0)</script>" in "".join(outline.text)
    first = page.index("id='item-q5'")
    assert first < page.index("id='item-q0'") < page.index("id='item-q1'")
    assert "APITimeoutError: timed out" in page
    text = " ".join(outline.text)
    for label in ("TTFT median", "latency p95", "token overlap (F1)", "worst disagreements first"):
        assert label in text


# ------------------------------------------------------------------ headless Chromium


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of a PNG: Pillow if installed, else the stdlib."""
    try:
        from PIL import Image
    except ImportError:
        return read_png_stdlib(path)
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        data = rgb.tobytes()
    return width, height, [data[y * width * 3 : (y + 1) * width * 3] for y in range(height)]


def read_png_stdlib(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB/RGBA PNG, with zlib and struct."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 0xFF
        prev = line
        rows.append(bytes(v for i, v in enumerate(line) if channels == 3 or i % 4 != 3))
    return width, height, rows


def _rgb(hex_color: str) -> bytes:
    return bytes(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))


def _count(row: bytes, pixel: bytes) -> int:
    hits, at = 0, row.find(pixel)
    while at >= 0:
        hits += at % 3 == 0
        at = row.find(pixel, at + 1)
    return hits


def _rows_with(rows: list[bytes], color: bytes) -> list[int]:
    """The y of every row holding at least 3 pixels of exactly ``color``."""
    return [y for y, row in enumerate(rows) if _count(row, color) >= 3]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_headless_chromium_shows_the_table_and_the_chart(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(make_report().to_html(), encoding="utf-8")
    png = tmp_path / "shot.png"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
         "--window-size=1280,2000", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert png.exists(), result.stderr[-2000:]
    width, height, rows = read_png(png)
    assert (width, height) == (1280, 2000)
    white = bytes([255, 255, 255])
    non_white = sum(len(row) // 3 - _count(row, white) for row in rows)
    assert non_white > 20_000  # text, tables and chart, not a blank page
    # The tables: header rows in the header colour (models table first, then pairs).
    header_rows = _rows_with(rows, _rgb(HEADER_BG))
    assert header_rows, "no table header visible"
    # The chart: dots of both models' colours (used nowhere else), below the tables.
    slim_dots = _rows_with(rows, _rgb(PALETTE[0]))
    orig_dots = _rows_with(rows, _rgb(PALETTE[1]))
    assert slim_dots and orig_dots, "no chart dots visible"
    assert min(header_rows) < min(slim_dots) < min(orig_dots)  # slim row above original row
    # Two distinct chart rows, each a dot tall (about 12 px plus jitter), not a smear.
    assert max(slim_dots) < min(orig_dots)
    assert 8 <= max(slim_dots) - min(slim_dots) <= 40


def test_the_stdlib_png_reader_agrees_with_pillow(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGBA", (37, 23))
    image.putdata(
        [((x * 7) % 256, (y * 11) % 256, (x * y) % 256, 255) for y in range(23) for x in range(37)]
    )
    path = tmp_path / "gradient.png"
    image.save(path, optimize=True)  # adaptive filters: several filter types in one file
    assert read_png_stdlib(path) == read_png(path)
