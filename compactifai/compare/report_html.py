"""The ``--html`` report: one self-contained page (inline CSS and SVG, no script, no fetch).

Sections: the per-model table, the per-pair agreement table, a latency distribution chart
(one row per model: every request's total latency as a dot, its time to first token as a ring,
the median and p95 as ticks) and the answers side by side, worst disagreements first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any, Protocol

from compactifai.compare.records import ItemAgreement, ModelStats, Observation, PairStats, WorkItem

__all__ = ["PALETTE", "RenderedReport", "latency_chart_svg", "render_html"]


class RenderedReport(Protocol):
    """What the page reads (only reads) of a
    :class:`~compactifai.compare.report.ComparisonReport`: the report renders itself through
    this module, so this module does not import it."""

    @property
    def workload(self) -> str: ...
    @property
    def models(self) -> list[str]: ...
    @property
    def items(self) -> list[WorkItem]: ...
    @property
    def observations(self) -> dict[tuple[str, str], Observation]: ...
    @property
    def model_stats(self) -> list[ModelStats]: ...
    @property
    def pairs(self) -> list[PairStats]: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def base_url(self) -> str | None: ...
    @property
    def started(self) -> datetime: ...
    @property
    def duration(self) -> float: ...

    def stats(self, model: str) -> ModelStats: ...
    def observation(self, model: str, item_id: str) -> Observation: ...
    def agreements(self, item_id: str) -> list[ItemAgreement]: ...
    def item_score(self, item_id: str) -> float: ...
    def worst_first(self) -> list[WorkItem]: ...


# Series colours of the chart (one per model, in order); used nowhere else on the page.
PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2")
HEADER_BG = "#1e293b"

CSS = f"""
* {{ box-sizing: border-box; }}
body {{ font-family: -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif;
  margin: 24px; color: #0f172a; background: #ffffff; font-size: 14px; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }}
h2 {{ font-size: 17px; margin: 28px 0 8px; }}
.meta {{ color: #475569; margin: 0 0 12px; }}
table {{ border-collapse: collapse; margin: 4px 0 8px; }}
th, td {{ border: 1px solid #cbd5e1; padding: 6px 10px; text-align: right; vertical-align: top; }}
th {{ background: {HEADER_BG}; color: #ffffff; font-weight: 600; }}
td.name, th.name {{ text-align: left; }}
tr:nth-child(even) td {{ background: #f1f5f9; }}
.slim {{ color: #15803d; font-weight: 600; }}
.err {{ color: #b91c1c; }}
.note {{ color: #64748b; font-size: 12px; }}
.item {{ border: 1px solid #cbd5e1; border-radius: 6px; margin: 12px 0; padding: 10px 12px; }}
.item h3 {{ font-size: 14px; margin: 0 0 6px; }}
.badge {{ display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px;
  margin-left: 6px; border: 1px solid #94a3b8; }}
.low {{ background: #fee2e2; }} .mid {{ background: #fef9c3; }} .high {{ background: #dcfce7; }}
.prompt {{ white-space: pre-wrap; color: #334155; background: #f8fafc; padding: 6px 8px;
  margin: 0 0 8px; font-size: 13px; max-height: 9em; overflow: auto; }}
.answers {{ display: grid; gap: 10px; }}
.answer {{ border: 1px solid #e2e8f0; padding: 6px 8px; }}
.answer h4 {{ font-size: 13px; margin: 0 0 4px; }}
.answer pre {{ white-space: pre-wrap; word-break: break-word; margin: 0; font-size: 13px;
  font-family: inherit; }}
.fields td {{ font-size: 12px; text-align: left; }}
.neq td {{ background: #fee2e2 !important; }}
svg text {{ font-family: inherit; }}
"""


def _fmt_ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f} ms"


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _fmt_num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _fmt_cost(value: float | None) -> str:
    return "–" if value is None else f"{value:,.6f}"


def _nice_step(span: float, ticks: int = 6) -> float:
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def latency_chart_svg(report: RenderedReport, width: int = 960) -> str:
    """Inline SVG: per model, a dot per request's total latency and a ring per TTFT (ms)."""
    models = report.models
    row_h, top, left, right, bottom = 56, 34, 230, 30, 44
    height = top + row_h * len(models) + bottom
    plot_w = width - left - right
    values = [
        v * 1000
        for (_, _), o in report.observations.items()
        if o.ok
        for v in (o.latency, o.ttft)
        if v is not None
    ]
    top_value = max(values, default=1.0) * 1.05 or 1.0
    step = _nice_step(top_value)
    x_max = step * math.ceil(top_value / step)

    def x(ms: float) -> float:
        return left + plot_w * ms / x_max

    parts = [
        f'<svg id="latency-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Latency distribution per model">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="18" font-size="12" fill="#334155">'
        "● total latency per request   ○ time to first token   │ median   ┆ p95</text>",
    ]
    tick = 0.0
    while tick <= x_max + 1e-9:
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{height - bottom}" '
            'stroke="#e2e8f0" stroke-width="1"/>'
        )
        label = f"{tick:,.0f}" if step >= 1 else f"{tick:,.2f}"
        parts.append(
            f'<text x="{tx:.1f}" y="{height - bottom + 16}" font-size="11" fill="#475569" '
            f'text-anchor="middle">{label}</text>'
        )
        tick += step
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" font-size="12" fill="#334155" '
        'text-anchor="middle">milliseconds</text>'
    )
    for row, model in enumerate(models):
        color = PALETTE[row % len(PALETTE)]
        cy = top + row_h * row + row_h / 2
        stats = report.stats(model)
        parts.append(
            f'<text x="{left - 10}" y="{cy + 4:.1f}" font-size="12" fill="#0f172a" '
            f'text-anchor="end">{escape(model)}</text>'
        )
        parts.append(
            f'<line x1="{left}" y1="{cy:.1f}" x2="{left + plot_w}" y2="{cy:.1f}" '
            'stroke="#cbd5e1" stroke-width="1"/>'
        )
        for i, item in enumerate(report.items):
            o = report.observation(model, item.id)
            if not o.ok:
                continue
            jitter = ((i * 7) % 9 - 4) * 2.2
            if o.ttft is not None:
                parts.append(
                    f'<circle cx="{x(o.ttft * 1000):.1f}" cy="{cy + jitter:.1f}" r="5" '
                    f'fill="none" stroke="{color}" stroke-width="2"><title>'
                    f"{escape(model)} · {escape(item.id)} · TTFT {_fmt_ms(o.ttft)}</title></circle>"
                )
            if o.latency is not None:
                parts.append(
                    f'<circle cx="{x(o.latency * 1000):.1f}" cy="{cy + jitter:.1f}" r="6" '
                    f'fill="{color}"><title>{escape(model)} · '
                    f"{escape(item.id)} · total {_fmt_ms(o.latency)}</title></circle>"
                )
        for value, dash in ((stats.latency_median, ""), (stats.latency_p95, "4 3")):
            if value is None:
                continue
            mx = x(value * 1000)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{mx:.1f}" y1="{cy - row_h / 2 + 6:.1f}" x2="{mx:.1f}" '
                f'y2="{cy + row_h / 2 - 6:.1f}" stroke="#0f172a" stroke-width="2"{dash_attr}/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _models_table(report: RenderedReport) -> str:
    head = (
        "<tr><th class='name'>model</th><th class='name'>kind</th><th>requests</th>"
        "<th>errors</th><th>TTFT median</th><th>TTFT p95</th><th>latency median</th>"
        "<th>latency p95</th><th>tokens in</th><th>tokens out</th><th>out tok/s</th>"
        "<th>est. cost</th></tr>"
    )
    rows = []
    for s in report.model_stats:
        kind = "<span class='slim'>slim</span>" if s.kind == "slim" else "original"
        err = f"<span class='err'>{s.errors}</span>" if s.errors else "0"
        rows.append(
            f"<tr><td class='name'>{escape(s.model)}</td><td class='name'>{kind}</td>"
            f"<td>{s.requests}</td><td>{err}</td><td>{_fmt_ms(s.ttft_median)}</td>"
            f"<td>{_fmt_ms(s.ttft_p95)}</td><td>{_fmt_ms(s.latency_median)}</td>"
            f"<td>{_fmt_ms(s.latency_p95)}</td><td>{s.input_tokens:,}</td>"
            f"<td>{s.output_tokens:,}</td><td>{_fmt_num(s.output_tokens_per_second)}</td>"
            f"<td>{_fmt_cost(s.cost)}</td></tr>"
        )
    return f"<table id='models-table'>{head}{''.join(rows)}</table>"


def _pairs_table(report: RenderedReport) -> str:
    if not report.pairs:
        return "<p class='note'>Only one model: nothing to compare.</p>"
    head = (
        "<tr><th class='name'>candidate</th><th class='name'>reference</th><th>compared</th>"
        "<th>exact match</th><th>token overlap (F1)</th><th>field agreement</th>"
        "<th>cost candidate</th><th>cost reference</th><th>saving</th></tr>"
    )
    rows = []
    for p in report.pairs:
        fields = (
            f"{_fmt_pct(p.field_agreement_mean)} <span class='note'>({p.structured})</span>"
            if p.structured
            else "–"
        )
        rows.append(
            f"<tr><td class='name'>{escape(p.candidate)}</td>"
            f"<td class='name'>{escape(p.reference)}</td><td>{p.compared}</td>"
            f"<td>{_fmt_pct(p.exact_match_rate)}</td><td>{_fmt_pct(p.token_overlap_mean)}</td>"
            f"<td>{fields}</td><td>{_fmt_cost(p.candidate_cost)}</td>"
            f"<td>{_fmt_cost(p.reference_cost)}</td><td>{_fmt_pct(p.cost_saving)}</td></tr>"
        )
    return f"<table id='pairs-table'>{head}{''.join(rows)}</table>"


def _badge(score: float) -> str:
    if score < 0:
        return "<span class='badge low'>error</span>"
    level = "low" if score < 0.5 else "mid" if score < 0.9 else "high"
    return f"<span class='badge {level}'>agreement {score * 100:.0f}%</span>"


def _answer(model: str, o: Observation) -> str:
    if not o.ok:
        body = f"<pre class='err'>{escape(o.error or '')}</pre>"
    else:
        body = f"<pre>{escape(o.text)}</pre>"
    meta = (
        f"{_fmt_ms(o.latency)} · TTFT {_fmt_ms(o.ttft)} · "
        f"{o.input_tokens if o.input_tokens is not None else '–'} in / "
        f"{o.output_tokens if o.output_tokens is not None else '–'} out"
    )
    return (
        f"<div class='answer'><h4>{escape(model)}</h4>{body}"
        f"<div class='note'>{escape(meta)}</div></div>"
    )


def _json(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False, default=str))


def _agreement_line(a: ItemAgreement) -> str:
    if a.exact_match is None:
        return f"<div class='note'>{escape(a.candidate)} vs {escape(a.reference)}: not compared (error)</div>"
    text = (
        f"{escape(a.candidate)} vs {escape(a.reference)}: exact match "
        f"{'yes' if a.exact_match else 'no'} · token overlap {_fmt_pct(a.token_overlap)}"
    )
    if a.field_agreement is not None:
        text += f" · fields {_fmt_pct(a.field_agreement)}"
    out = f"<div class='note'>{text}</div>"
    if a.fields:
        rows = "".join(
            f"<tr class='{'eq' if d.equal else 'neq'}'><td>{escape(d.path or '(root)')}</td>"
            f"<td>{_json(d.a)}</td><td>{_json(d.b)}</td></tr>"
            for d in a.fields
        )
        out += (
            "<table class='fields'><tr><th class='name'>field</th>"
            f"<th class='name'>{escape(a.candidate)}</th>"
            f"<th class='name'>{escape(a.reference)}</th></tr>{rows}</table>"
        )
    return out


def _answers(report: RenderedReport) -> str:
    columns = f"repeat({len(report.models)}, minmax(0, 1fr))"
    cards = []
    for item in report.worst_first():
        answers = "".join(_answer(m, report.observation(m, item.id)) for m in report.models)
        agreements = "".join(_agreement_line(a) for a in report.agreements(item.id))
        cards.append(
            f"<div class='item' id='item-{escape(item.id)}'><h3>#{escape(item.id)}"
            f"{_badge(report.item_score(item.id))}</h3>"
            f"<div class='prompt'>{escape(item.label)}</div>"
            f"<div class='answers' style='grid-template-columns: {columns}'>{answers}</div>"
            f"{agreements}</div>"
        )
    return "".join(cards)


def render_html(report: RenderedReport, title: str | None = None) -> str:
    """The whole report page as a string."""
    heading = title or "CompactifAI model comparison"
    meta = (
        f"{report.workload} workload · {len(report.items)} items × {len(report.models)} models "
        f"· concurrency {report.concurrency} · {report.duration:.2f} s · "
        f"{report.started.strftime('%Y-%m-%d %H:%M UTC')}"
    )
    if report.base_url:
        meta += f" · {report.base_url}"
    sections: Sequence[str] = (
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(heading)}</title>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(heading)}</h1><p class='meta'>{escape(meta)}</p>",
        "<h2>Models</h2>",
        _models_table(report),
        "<p class='note'>Median and p95 (linear interpolation) over successful requests; "
        "out tok/s = output tokens ÷ total request time; cost from the prices given per "
        "million tokens.</p>",
        "<h2>Agreement</h2>",
        _pairs_table(report),
        "<p class='note'>Exact match after trimming; token overlap = F1 of lowercased word "
        "tokens; field agreement = equal fields ÷ all fields of structured answers.</p>",
        "<h2>Latency distribution</h2>",
        latency_chart_svg(report),
        "<h2>Answers side by side <span class='note'>(worst disagreements first)</span></h2>",
        _answers(report),
        "</body></html>",
    )
    return "\n".join(sections)
