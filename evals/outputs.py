"""Summaries of an eval results file: Markdown, standalone HTML, and JUnit XML for CI."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
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


#: Said beside an offline run's figures: editing a criterion's level text is not expected to
#: move them.
OFFLINE_READS = ("offline scoring reads each criterion's signals, not its level text: a "
                 "level-text edit changes no offline level")


def short_hash(hashes: dict[str, str] | None) -> str:
    """One 12-digit hash standing for a mapping of hashes ("unknown" when a results file from
    before it was recorded has none)."""
    if not isinstance(hashes, dict):
        return "unknown"
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:12]


def data_line(k: dict[str, Any], note: bool = True) -> str:
    """What the scores were read against besides the rubrics: the case files and, offline,
    the prompt data files (each "unknown" in results written before they were recorded)."""
    cases = k.get("case_hashes")
    line = f"cases {short_hash(cases)}" + (f" ({len(cases)} files)" if isinstance(
        cases, dict) else "")
    if k.get("scorer") == "offline":
        data = k.get("prompt_data_hashes")
        shown = ", ".join(f"{n} {h}" for n, h in sorted(data.items())) if isinstance(
            data, dict) else "unknown"
        line += (f" · prompt data {shown} · rules {k.get('offline_rules') or 'unknown'}"
                 + (f" · {OFFLINE_READS}" if note else ""))
    return line


def headline(results: dict[str, Any]) -> list[str]:
    k = results["knobs"]
    m = results["metrics"]
    scorer = f"llm ({k['model']}, prompts {k['prompt_hashes']})" if k["scorer"] == "llm" else (
        "offline (rubric signals in affirmed claims + local embeddings)")
    lines = [
        f"Dataset `{k['dataset']['name']}` ({k['dataset']['items']} interviews, sha256 "
        f"{k['dataset']['sha256'][:12]}) · scorer {scorer} · rubrics {k['rubric_version']} · "
        f"repeats {k['repeats']} · seed {k['seed']}",
        data_line(k),
    ]
    f = results["failures"]
    if f["items"]:
        lines.append(f"**{f['items']} of {f['of']} interviews failed to score and are left out "
                     f"of every metric**: {', '.join(f['ids'])}")
    if m["unscored_criteria"]:
        lines.append(f"{m['unscored_criteria']} criterion scores were unscored (invalid judge "
                     "output or a failed call; failed interviews included) and are left out.")
    return lines


@dataclass
class Section:
    """One titled block of the summary: notes, then a table (first column a label)."""

    title: str
    notes: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _cells(block: dict[str, Any], names: tuple[str, ...] = SHOWN) -> list[str]:
    return [f"{_v(block.get(m))}{_ci(block, m)}" for m in names]


def _metric_rows(rows: list[tuple[str, dict[str, Any]]]) -> list[list[str]]:
    return [[label, str(block.get("n", 0)), *_cells(block)] for label, block in rows]


def _signed(x: Any) -> str:
    return "—" if x is None else f"{x:+.3f}"


def _ceiling_section(hh: dict[str, Any], title: str) -> Section:
    sec = Section(title, header=["", "n", *SHOWN])
    sec.notes.append(
        f"First vs second rater ({' vs '.join(hh['raters'])}) on the {hh['items']} "
        f"double-rated interviews of {hh['of']}: {', '.join(hh.get('ids', []))}. With so few "
        "interviews the intervals are wide. To pool several datasets (e.g. dev and "
        "held-out): python -m evals.analysis DATASET.jsonl DATASET.jsonl.")
    sec.rows = _metric_rows([("steps (holistic)", hh["steps"]),
                             ("criteria (pooled)", hh["criteria"])])
    for step, row in hh.get("per_step", {}).items():
        for kind in ("holistic", "criteria"):
            block = row[kind]
            if block.get("n"):
                sec.rows.append([f"{step} · {kind}", str(block["n"]), *_cells(block)])
    return sec


def sections(results: dict[str, Any]) -> list[Section]:
    """Every table of the summary, shared by the Markdown and the HTML (so neither omits one)."""
    m = results["metrics"]
    head = ["", "n", *SHOWN]
    out = [Section("Overall", header=head, rows=_metric_rows([
        ("steps (holistic)", m["overall"]["steps"]),
        ("criteria (pooled)", m["overall"]["criteria"])]))]
    per_step = Section("Per step", header=head)
    for step, block in m["per_step"].items():
        per_step.rows += _metric_rows([(f"{step} · holistic", block["holistic"]),
                                       (f"{step} · criteria", block["criteria"])])
    out.append(per_step)

    tags = m.get("by_tag")
    if tags:
        sec = Section("Agreement by answer tag", header=[
            "tag", "holistic n", "exact", "mean signed error", "MAE",
            "criteria n", "exact", "mean signed error", "MAE"])
        sec.notes.append("Tag = the intended quality of a step's answers (the dataset's "
                         "meta.profile). Mean signed error = predicted − gold: positive means "
                         "the scorer over-scores answers with that tag.")
        for tag, row in tags.items():
            h, c = row["holistic"], row["criteria"]
            sec.rows.append([tag, str(h["n"]), _v(h["exact"]), _signed(h["mean_signed_error"]),
                             _v(h["mae"]), str(c["n"]), _v(c["exact"]),
                             _signed(c["mean_signed_error"]), _v(c["mae"])])
        out.append(sec)

    bt = m.get("by_interview_tag")
    if bt:
        from evals.tags import HEADER, rows

        sec = Section("Agreement by interview tag", header=HEADER, rows=rows(bt))
        sec.notes.append("Interview tags from the dataset's meta.tags; 'genuine' = no adversarial "
                         "tag, 'all' = every interview. Gold/predicted mean = mean step level "
                         "(predicted: the unrounded step score); 'no hire' = interviews the "
                         "scorer bands no hire. Gates on these: evals/gates.toml.")
        out.append(sec)
    js = m.get("judge_samples")
    if js:
        out.append(Section("Judge samples (test–retest within a run)", header=[
            "samples", "criteria", "exact", "qwk", "alpha", "unanimous"], rows=[[
                str(js["k"]), str(js["n"]), _v(js["exact"]), _v(js["qwk"]), _v(js["alpha"]),
                _v(js["unanimous"])]], notes=["Each step graded K times (--judge-samples); the "
                                             "level kept is the median."]))
    hh = m.get("human_human")
    if hh:
        out.append(_ceiling_section(hh, "Human–human ceiling"))
    else:
        out.append(Section("Human–human ceiling", notes=[
            "No interview in this run has a second rater: no ceiling to compare against."]))

    scale = Section("Scale use", header=["", "1", "2", "3", "4", "unscored", "levels used"])
    for kind, dist in (("criterion", m["level_distribution"]),
                       ("step (holistic)", m.get("level_distribution_steps"))):
        if not dist:
            continue
        for who in ("predicted", "gold"):
            d = dist[who]
            scale.rows.append([f"{kind} · {who}", *(str(d[k]) for k in "1234"),
                               str(d.get("unscored", 0)), str(d["levels_used"])])
    out.append(scale)

    retest = Section("Test–retest", header=["levels", "repeats", "n", "exact", "qwk", "alpha"])
    for kind, t in (("criterion", m.get("test_retest")), ("step (holistic)",
                                                          m.get("test_retest_steps"))):
        if t:
            retest.rows.append([kind, str(t["k"]), str(t["n"]), _v(t["exact"]), _v(t["qwk"]),
                                _v(t["alpha"])])
    if not retest.rows:
        retest.notes.append("Not measured: one repeat (use --repeats K to score everything K "
                            "times and see how much the scorer disagrees with itself).")
    out.append(retest)

    ci_on = m.get("per_criterion_ci_metrics", ["qwk", "exact"])
    crit = Section("Per criterion", header=["criterion", "n", *SHOWN], notes=[
        "95% intervals on every metric, as above." if set(SHOWN) <= set(ci_on) else
        f"95% intervals on {' and '.join(ci_on)} only (fewer resamples); the other metrics "
        "are point estimates."])
    crit.rows = _metric_rows(list(m["per_criterion"].items()))
    out.append(crit)

    u = results["usage"]
    if u["calls"]:
        cost = "unknown (a model with no price)" if u["cost_usd"] is None else (
            f"${u['cost_usd']:.4f}")
        sec = Section("Usage", header=["", "value"], rows=[
            ["model calls", f"{u['calls']:,}"], ["from cache", f"{u['cached_calls']:,}"],
            ["failed", f"{u['failed_calls']:,}"], ["retries", f"{u['retries']:,}"],
            ["prompt tokens (reported)", f"{u['prompt_tokens_reported']:,}"],
            ["prompt tokens (tiktoken)", f"{u['prompt_tokens_tiktoken']:,}"],
            ["completion tokens", f"{u['completion_tokens']:,}"], ["cost", cost]])
        batch = u.get("batch")
        if batch:
            sec.rows += [["batch requests", f"{batch['requests']:,}"],
                         ["answered by the batch", f"{batch['succeeded']:,}"],
                         ["batch lines failed or unanswered", f"{batch['failed']:,}"]]
            price = batch.get("cost_usd_list_price")
            sec.notes.append(
                f"Judge calls went through the {batch['provider']} batch API (batch "
                f"{', '.join(batch['batches'])}): {batch['prompt_tokens']:,} prompt and "
                f"{batch['completion_tokens']:,} completion tokens, "
                + ("cost unknown" if price is None else f"${price:.4f} at live prices")
                + " (batch APIs bill about half of that). Their replies count as cache hits "
                "above; failed lines were called live or reported, as --batch-failures said.")
        earlier = u.get("earlier")
        if earlier:
            sec.notes.append(f"Includes {earlier['calls']:,} calls made before the run was "
                             "resumed (from the partial file); cache hits/misses are this "
                             "process's only.")
        if u.get("earlier_tasks_without_usage"):
            sec.notes.append(f"{u['earlier_tasks_without_usage']} resumed tasks were saved "
                             "without usage (an older partial file): their calls are missing.")
        out.append(sec)
    return out


def _timing(results: dict[str, Any]) -> str | None:
    t = results.get("timing", {})
    if not t:
        return None
    return (f"Scored {t['tasks']} step transcripts in {t['seconds']:.1f} s "
            f"({t['resumed']} resumed from an earlier partial run).")


def _md_table(sec: Section) -> list[str]:
    if not sec.header or not sec.rows:
        return []
    lines = ["| " + " | ".join(sec.header) + " |",
             "|---|" + "---:|" * (len(sec.header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in sec.rows]
    return lines


def to_markdown(results: dict[str, Any]) -> str:
    lines = ["# Eval results", "", *headline(results), "",
             "95% bootstrap intervals (resampling interviews) in brackets. Gold = first rater."]
    for sec in sections(results):
        lines += ["", f"## {sec.title}", ""]
        for note in sec.notes:
            lines += [note, ""]
        lines += _md_table(sec)
        if lines[-1] == "":
            lines.pop()
    timing = _timing(results)
    if timing:
        lines += ["", timing]
    return "\n".join(lines) + "\n"


def ceiling_markdown(hh: dict[str, Any] | None) -> str:
    """The pooled human-human ceiling over several datasets (``evals.analysis.ceiling``)."""
    if hh is None:
        return "# Human–human ceiling\n\nNo interview has a second rater.\n"
    sec = _ceiling_section(hh, "Human–human ceiling")
    lines = ["# Human–human ceiling", "", f"Datasets: {', '.join(hh.get('datasets', []))}", ""]
    for note in sec.notes:
        lines += [note, ""]
    return "\n".join(lines + _md_table(sec)) + "\n"


def _html_table(sec: Section) -> str:
    if not sec.header or not sec.rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in sec.header)
    body = "".join("<tr>" + "".join(
        f"<th>{escape(c)}</th>" if k == 0 else f"<td>{escape(c)}</td>" for k, c in
        enumerate(row)) + "</tr>" for row in sec.rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def to_html(results: dict[str, Any]) -> str:
    """Every section of the Markdown summary as a standalone page (no network needed)."""
    notes = "".join(f"<p>{escape(line)}</p>" for line in headline(results))
    parts = [f"<h1>Eval results</h1>{notes}<p>95% bootstrap intervals (resampling interviews) "
             "in brackets. Gold = first rater.</p>"]
    for sec in sections(results):
        parts.append(f"<h2>{escape(sec.title)}</h2>"
                     + "".join(f"<p>{escape(n)}</p>" for n in sec.notes) + _html_table(sec))
    timing = _timing(results)
    if timing:
        parts.append(f"<p>{escape(timing)}</p>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Eval results"
            "</title><style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-"
            "collapse:collapse;margin-bottom:1rem}td,th{border:1px solid #ccd;padding:.3rem "
            ".6rem;text-align:right}tr>th:first-child{text-align:left}</style></head><body>"
            + "".join(parts) + "</body></html>\n")


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
