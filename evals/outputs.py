"""Summaries of an eval results file: Markdown, standalone HTML, and JUnit XML for CI."""

from __future__ import annotations

from html import escape
from typing import Any
from xml.sax.saxutils import quoteattr

SHOWN = ("qwk", "spearman", "exact", "adjacent", "alpha", "mae")


def _v(x: Any) -> str:
    return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def _ci(block: dict[str, Any], name: str) -> str:
    lo_hi = block.get("ci95", {}).get(name)
    if not lo_hi or lo_hi[0] is None:
        return ""
    return f" [{lo_hi[0]:.2f}, {lo_hi[1]:.2f}]"


def _row(label: str, block: dict[str, Any]) -> str:
    cells = " | ".join(f"{_v(block.get(m))}{_ci(block, m)}" for m in SHOWN)
    return f"| {label} | {block.get('n', 0)} | {cells} |"


def headline(results: dict[str, Any]) -> list[str]:
    k = results["knobs"]
    m = results["metrics"]
    scorer = f"llm ({k['model']}, prompts {k['prompt_hashes']})" if k["scorer"] == "llm" else (
        "offline (rubric signals)")
    lines = [
        f"Dataset `{k['dataset']['name']}` ({k['dataset']['items']} interviews, sha256 "
        f"{k['dataset']['sha256'][:12]}) · scorer {scorer} · rubrics {k['rubric_version']} · "
        f"repeats {k['repeats']} · seed {k['seed']}",
    ]
    f = results["failures"]
    if f["items"]:
        lines.append(f"**{f['items']} of {f['of']} interviews failed to score and are left out "
                     f"of every metric**: {', '.join(f['ids'])}")
    if m["unscored_criteria"]:
        lines.append(f"{m['unscored_criteria']} criterion scores were unscored (invalid judge "
                     "output) and are left out.")
    return lines


def to_markdown(results: dict[str, Any]) -> str:
    m = results["metrics"]
    head = "| | n | " + " | ".join(SHOWN) + " |"
    sep = "|---|---:|" + "---:|" * len(SHOWN)
    lines = ["# Eval results", "", *headline(results), "",
             "95% bootstrap intervals (resampling interviews) in brackets. Gold = first rater.",
             "", "## Overall", "", head, sep,
             _row("steps (holistic)", m["overall"]["steps"]),
             _row("criteria (pooled)", m["overall"]["criteria"]),
             "", "## Per step", "", head, sep]
    for step, block in m["per_step"].items():
        lines.append(_row(f"{step} · holistic", block["holistic"]))
        lines.append(_row(f"{step} · criteria", block["criteria"]))
    hh = m.get("human_human")
    if hh:
        lines += ["", f"## Human–human ceiling ({' vs '.join(hh['raters'])}, "
                  f"{hh['items']} interviews)", "", head, sep,
                  _row("steps", hh["steps"]), _row("criteria", hh["criteria"])]
    dist = m["level_distribution"]
    lines += ["", "## Scale use (criterion levels)", "", "| | 1 | 2 | 3 | 4 | unscored | used |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for who in ("predicted", "gold"):
        d = dist[who]
        lines.append(f"| {who} | {d['1']} | {d['2']} | {d['3']} | {d['4']} | "
                     f"{d.get('unscored', 0)} | {d['levels_used']} |")
    if m.get("test_retest"):
        t = m["test_retest"]
        lines += ["", f"## Test–retest ({t['k']} repeats, {t['n']} criterion scores)", "",
                  f"exact {_v(t['exact'])} · QWK {_v(t['qwk'])} · alpha {_v(t['alpha'])}"]
    lines += ["", "## Per criterion", "", "| criterion | n | qwk | exact |", "|---|---:|---:|---:|"]
    for cid, block in m["per_criterion"].items():
        lines.append(f"| {cid} | {block['n']} | {_v(block['qwk'])}{_ci(block, 'qwk')} | "
                     f"{_v(block['exact'])}{_ci(block, 'exact')} |")
    u = results["usage"]
    if u["calls"]:
        cost = "unknown" if u["cost_usd"] is None else f"${u['cost_usd']:.4f}"
        lines += ["", "## Usage", "",
                  f"{u['calls']} model calls ({u['cached_calls']} from cache, "
                  f"{u['failed_calls']} failed, {u['retries']} retries); prompt tokens "
                  f"{u['prompt_tokens_reported']:,} reported / {u['prompt_tokens_tiktoken']:,} "
                  f"by tiktoken; completion tokens {u['completion_tokens']:,}; cost {cost}"]
    t = results.get("timing", {})
    if t:
        lines += ["", f"Scored {t['tasks']} step transcripts in {t['seconds']:.1f} s "
                  f"({t['resumed']} resumed from an earlier partial run)."]
    return "\n".join(lines) + "\n"


def to_html(results: dict[str, Any]) -> str:
    """The Markdown summary's tables as a standalone page (no network needed)."""
    m = results["metrics"]
    rows = [("steps (holistic)", m["overall"]["steps"]),
            ("criteria (pooled)", m["overall"]["criteria"])]
    for step, block in m["per_step"].items():
        rows += [(f"{step} · holistic", block["holistic"]), (f"{step} · criteria",
                                                             block["criteria"])]
    if m.get("human_human"):
        rows += [("human–human steps", m["human_human"]["steps"]),
                 ("human–human criteria", m["human_human"]["criteria"])]

    def cell(block: dict[str, Any], name: str) -> str:
        v = block.get(name)
        return f"<td>{escape(_v(v))}<small>{escape(_ci(block, name))}</small></td>"

    body = "".join(
        f"<tr><th>{escape(label)}</th><td>{block.get('n', 0)}</td>"
        + "".join(cell(block, n) for n in SHOWN) + "</tr>" for label, block in rows)
    head = "".join(f"<th>{n}</th>" for n in SHOWN)
    notes = "".join(f"<p>{escape(line)}</p>" for line in headline(results))
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Eval results"
            "</title><style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-"
            "collapse:collapse}td,th{border:1px solid #ccd;padding:.3rem .6rem;text-align:right}"
            "th:first-child{text-align:left}small{color:#667}</style></head><body>"
            f"<h1>Eval results</h1>{notes}<table><tr><th></th><th>n</th>{head}</tr>{body}"
            "</table></body></html>\n")


def to_junit(results: dict[str, Any]) -> str:
    """One test case per interview (an error if it failed to score) and one per headline
    metric (always a pass; the values are in system-out for CI dashboards)."""
    items = results["items"]
    m = results["metrics"]
    cases = []
    for item in items:
        name = quoteattr(f"score {item['id']}")
        if item["failed"]:
            msg = quoteattr("; ".join(item["errors"])[:500])
            cases.append(f"<testcase classname=\"eval.items\" name={name}><error message={msg}/>"
                         "</testcase>")
        else:
            cases.append(f"<testcase classname=\"eval.items\" name={name}/>")
    for level in ("steps", "criteria"):
        block = m["overall"][level]
        values = ", ".join(f"{k}={_v(block.get(k))}" for k in SHOWN)
        cases.append(f"<testcase classname=\"eval.metrics\" name={quoteattr(level)}>"
                     f"<system-out>{escape(values)}</system-out></testcase>")
    failures = sum(1 for i in items if i["failed"])
    name = quoteattr(f"eval {results['knobs']['dataset']['name']} "
                     f"({results['knobs']['scorer']})")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<testsuite name={name} tests=\"{len(cases)}\" errors=\"{failures}\" "
            f"failures=\"0\">\n" + "\n".join(cases) + "\n</testsuite>\n")
