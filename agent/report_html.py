"""A standalone HTML report: one file, inline CSS and SVG, nothing fetched from the network."""

from __future__ import annotations

from html import escape

from agent.practice.timebox import clock
from agent.report import (
    Report,
    band_text,
    excerpt,
    fully_unscored,
    marked,
    model_answer,
    model_answer_intro,
    model_sentences,
    scorer_text,
    scoring_notes,
    shown_text,
    speaker,
    unscored_reason,
)
from agent.scores import BANDS, StepScore
from agent.steps import CROSS_CUTTING, TITLES

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:56rem;margin:2rem auto;
padding:0 1rem;color:#1d2330}h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #dde}
.meta{color:#667}.overall{font-size:1.3rem;font-weight:600}.crit{margin:1rem 0;padding:.5rem 1rem;
border-left:4px solid #99a}.crit.l1{border-color:#c0392b}.crit.l2{border-color:#e67e22}
.crit.l3{border-color:#27ae60}.crit.l4{border-color:#1e8449}.crit.none{border-color:#888}
blockquote{margin:.3rem 0;padding:.2rem .8rem;background:#f4f6fa;border-radius:4px}
blockquote,.crit,.turn span,li,p{overflow-wrap:anywhere}
.flag{color:#b9770e;font-weight:600}.miss{color:#445}svg text{font:12px system-ui,sans-serif}
table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left;
border-bottom:1px solid #eef}
.turn{margin:.4rem 0}.turn span{white-space:pre-wrap}.turn.candidate{padding-left:1rem;
border-left:3px solid #99a}
svg.chart{max-width:100%;height:auto}svg.chart.narrow{display:none}
@media (max-width:40rem){svg.chart.wide{display:none}svg.chart.narrow{display:block;
width:100%;max-width:26rem}}
"""


def _colour(score: float | None) -> str:
    return "#bbb" if score is None else (
        "#c0392b" if score < 2 else "#e67e22" if score < 2.75 else "#27ae60")


def _chart(report: Report) -> str:
    """The score per step as bars: a wide chart (labels left of the bars) and, shown instead
    on a screen narrower than it (_CSS), a narrow one with each label above its bar. Both
    scale down rather than run off the screen (viewBox); only the one shown is read."""
    return _wide_chart(report.steps) + _narrow_chart(report.steps)


def _wide_chart(rows: list[StepScore]) -> str:
    bar_h, gap, scale = 22, 8, 80
    # Room for the longest step title at 12px (about 7px a character in a proportional font,
    # with a margin), so no label runs into its bar.
    longest = max((len(TITLES[s.step]) for s in rows), default=0)
    label_w = max(190, 7 * longest + 16)
    width = label_w + 4 * scale + 50
    height = len(rows) * (bar_h + gap) + 24
    parts = [f'<svg class="chart wide" role="img" aria-label="Score per step" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for i, s in enumerate(rows):
        y = i * (bar_h + gap)
        w = (s.score or 0) * scale
        parts.append(f'<text x="0" y="{y + 15}">{escape(TITLES[s.step])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{4 * scale:.0f}" height="{bar_h}" '
                     'fill="#eef0f4"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.0f}" height="{bar_h}" '
                     f'fill="{_colour(s.score)}"/>')
        text = "—" if s.score is None else f"{s.score:.2f}"
        parts.append(f'<text x="{label_w + 4 * scale + 6:.0f}" y="{y + 15}">{text}</text>')
    for lv in range(1, 5):
        x = label_w + lv * scale
        parts.append(f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{height - 20}" '
                     'stroke="#ccd" stroke-dasharray="2,3"/>')
        parts.append(f'<text x="{x - 3:.0f}" y="{height - 4}">{lv}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _narrow_chart(rows: list[StepScore]) -> str:
    """Each step's title on a line of its own above its bar, the score after the bar: about
    a phone's width at 12px text (a 375 px screen shows it at its own size)."""
    label_h, bar_h, gap, scale = 15, 16, 9, 70
    row_h = label_h + bar_h + gap
    width = 4 * scale + 44
    height = len(rows) * row_h + 18
    parts = [f'<svg class="chart narrow" role="img" aria-label="Score per step" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for i, s in enumerate(rows):
        y = i * row_h
        bar_y = y + label_h + 2
        w = (s.score or 0) * scale
        parts.append(f'<text x="0" y="{y + 12}">{escape(TITLES[s.step])}</text>')
        parts.append(f'<rect x="0" y="{bar_y}" width="{4 * scale}" height="{bar_h}" '
                     'fill="#eef0f4"/>')
        parts.append(f'<rect x="0" y="{bar_y}" width="{w:.0f}" height="{bar_h}" '
                     f'fill="{_colour(s.score)}"/>')
        text = "—" if s.score is None else f"{s.score:.2f}"
        parts.append(f'<text x="{4 * scale + 6}" y="{bar_y + 12}">{text}</text>')
    for lv in range(1, 5):  # the levels marked across the bars, not through the titles
        x = lv * scale
        parts += [f'<line x1="{x}" y1="{i * row_h + label_h}" x2="{x}" '
                  f'y2="{i * row_h + label_h + bar_h + 4}" stroke="#ccd" '
                  'stroke-dasharray="2,3"/>' for i in range(len(rows))]
        parts.append(f'<text x="{x - 3}" y="{height - 3}">{lv}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _time(r: Report) -> list[str]:
    if not r.time:
        return []
    out = ["<h2>Time</h2>", f"<p>{escape(r.time_summary or '')}</p>",
           "<table><tr><th>Step</th><th>Spent</th><th>Suggested</th><th></th></tr>"]
    for t in r.time:
        spent = "—" if t.verdict == "not reached" else clock(t.seconds)
        out.append(f"<tr><td>{escape(TITLES[t.step])}</td><td>{spent}</td>"
                   f"<td>{clock(t.suggested_seconds)}</td><td>{escape(t.verdict)}</td></tr>")
    out.append("</table>")
    return out


def _transcript(r: Report) -> list[str]:
    """Every turn; candidate text escaped and kept as typed (line breaks included)."""
    if not r.transcript:
        return []
    out = ["<h2>Transcript</h2>"]
    step = None
    for t in r.transcript:
        if t.step != step and t.step in TITLES and t.step != CROSS_CUTTING:
            step = t.step
            out.append(f"<h3>{escape(TITLES[t.step])}</h3>")
        out.append(f"<div class='turn {t.role}'><strong>{speaker(t)}:</strong> "
                   f"<span>{escape(shown_text(t))}</span></div>")
    return out


def to_html(report: Report) -> str:
    r = report
    e = escape
    sc = r.scorer
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Interview feedback — {e(r.case_title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Interview feedback — {e(r.case_title)}</h1>",
        f"<p class='meta'>Session {e(r.session)} · case {e(r.case)} · {e(r.mode)} mode · "
        f"{e(r.status.replace('_', ' '))}</p>",
        f"<p class='meta'>Scored by {e(scorer_text(sc, short=True))} · rubrics "
        f"{e(sc.rubrics)}</p>",
        *([f"<p class='meta'>How far to trust it: {e(sc.agreement)}.</p>"]
          if sc.agreement else []),
        f"<p class='overall'>Overall {'—' if r.overall is None else f'{r.overall:.2f}'} / 4 — "
        f"{e(band_text(r))}</p>",
        _chart(r),
        "<h2>What to practise next</h2><ol>",
        *[f"<li>{e(p)}</li>" for p in r.practice],
        "</ol>",
    ]
    notes = scoring_notes(r)
    if notes:
        out.append("<h2>Scoring notes</h2><ul class='flag'>")
        out += [f"<li>{e(n)}</li>" for n in notes]
        out.append("</ul>")
    dead = {s.step for s in fully_unscored(r.steps)}
    for s in r.steps:
        score = "—" if s.score is None else f"{s.score:.2f}"
        note = (" (no answer)" if s.status == "skipped" else
                f" ({s.fallback})" if s.fallback else "")
        out.append(f"<h2>{e(TITLES[s.step])} — {score}{e(note)}</h2>")
        if s.fallback:
            out.append(f"<p class='flag'>{e(s.fallback.capitalize())}; these levels come "
                       "from rubric signals, not the model judge.</p>")
        if s.status == "not_reached":
            out.append("<p>Not reached in this session.</p>")
            continue
        if s.step in dead:
            out.append(f"<p class='flag'>Unscored: {e(unscored_reason(s))}</p>")
            continue
        if s.status == "skipped":
            out.append(f"<p>{e(s.criteria[0].rationale if s.criteria else 'No answer.')}</p><ul>")
            out += [f"<li><strong>{e(c.name)}</strong> — 1/4"
                    + (f". <em>To reach solid:</em> {e(c.missed)}" if c.missed else "")
                    + "</li>" for c in s.criteria]
            out.append("</ul>")
        else:
            for c in s.criteria:
                cls = "none" if c.level is None else f"l{c.level}"
                level = "unscored" if c.level is None else f"{c.level}/4"
                flag = " <span class='flag'>⚠ no verified quote</span>" if c.flagged else ""
                out.append(f"<div class='crit {cls}'><strong>{e(c.name)}</strong> — "
                           f"{level}{flag}<p>{e(c.rationale)}</p>")
                out += [f"<blockquote>“{e(excerpt(q))}”</blockquote>" for q in c.evidence]
                if c.missed:
                    out.append(f"<p class='miss'><em>To go further:</em> {e(c.missed)}</p>")
                out.append("</div>")
        if s.notes:
            out.append("<p><em>Scorer's notes:</em></p><ul class='flag'>")
            out += [f"<li>{e(n)}</li>" for n in s.notes]
            out.append("</ul>")
        model = model_answer(r, s.step)
        missed = set(s.strong_answer) if s.step != CROSS_CUTTING else set()
        if model:  # one model answer, what the answers missed in bold (not said twice)
            text = " ".join(marked(t, s.strong_missing.get(p), "<strong>", "</strong>", e)
                            if p in missed else e(t)
                            for p, t in zip(model, model_sentences(model), strict=True))
            intro = e(model_answer_intro(bool(missed & set(model)), em=""))
            out.append(f"<p class='model'><em>{intro}</em> {text}</p>")
        elif missed:
            out.append("<p><em>What a strong answer would have added:</em></p><ul>")
            out += [f"<li>{e(n)}</li>" for n in s.strong_answer]
            out.append("</ul>")
    out += _time(r)
    out += _transcript(r)
    out.append("<p class='meta'>Bands: " + ", ".join(
        f"{e(name)} ≥ {floor}" for name, floor in BANDS) + f". Generated {e(r.generated_at)}.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)
