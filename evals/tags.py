"""Agreement by tag: how a scorer does on each kind of answer the datasets hold.

Two kinds of tag: an interview's ``meta.tags`` (``keyword_salad``, ``negated``, ``injection``,
...) and each step's ``meta.profile`` (``strong``, ``plain_words_strong``, ...). For each tag:
interviews, steps, mean gold and mean predicted step level (the unrounded step score), exact and
within-one agreement, step and criterion QWK (steps include cross_cutting, as in the overall
figures), and for interview tags how many interviews the scorer bands *no hire* and their mean
predicted score over the six steps. ``genuine`` gathers the interviews
with no adversarial tag (the answers the datasets held before issue 9); ``all`` pools
everything. An interview marked ``meta.mixed``, or listing several adversarial tags (a
different one each step), is left out of the interview-tag rows (it counts in ``all`` and in the
per-step rows). Also the LLM judge's
sample-to-sample agreement when ``--judge-samples`` > 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.scores import band
from agent.steps import STEPS
from evals.metrics import agreement, mean_signed_error, test_retest

#: Interview tags written to break a vocabulary-counting scorer (issue 9).
ADVERSARIAL = ("keyword_salad", "negated", "fluent_wrong", "plain_words_strong",
               "numbers_in_words", "unasked_facts", "padded")
GENUINE = "genuine"
ALL = "all"


def _gold(entry: dict[str, Any]) -> int | None:
    gold = entry.get("gold") or {}
    return next(iter(gold.values()), None) if gold else None


def _round(x: float) -> int:
    return int(x + 0.5)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


#: One item's labelled steps: step -> (gold, predicted score, [(criterion gold, predicted)]).
_Rows = dict[str, tuple[int, float, list[tuple[int, int]]]]


def _rows(item: dict[str, Any]) -> _Rows:
    """The item's steps that have a label and a score, each with its labelled criteria (read
    once per item: an item sits in several tag blocks)."""
    by_step: dict[str, list[tuple[int, int]]] = {}
    for cid, ce in item["criteria"].items():
        cgold, cpred = _gold(ce), (ce["predicted"] or [None])[0]
        if cgold is not None and cpred is not None:
            by_step.setdefault(cid.split(".")[0], []).append((cgold, cpred))
    out: _Rows = {}
    for step, e in item["steps"].items():
        g = _gold(e)
        s = e["score"][0] if e.get("score") else None
        if g is not None and s is not None:
            out[step] = (g, s, by_step.get(step, []))
    return out


def _block(items: list[dict[str, Any]], steps_of: dict[str, list[str]],
           rows: dict[str, _Rows]) -> dict[str, Any]:
    """Metrics over the given steps of the given items (steps_of: item id -> its steps;
    rows: item id -> its _rows)."""
    gold: list[int] = []
    pred: list[int] = []
    scores: list[float] = []
    cg: list[int] = []
    cp: list[int] = []
    for item in items:
        own = rows[item["id"]]
        for step in steps_of[item["id"]]:
            row = own.get(step)
            if row is None:
                continue
            g, s, crit = row
            gold.append(g)
            pred.append(_round(s))
            scores.append(s)
            for cgold, cpred in crit:
                cg.append(cgold)
                cp.append(cpred)
    a = agreement(gold, pred) if gold else {}
    return {
        "interviews": len(items), "steps": len(gold),
        "gold_mean": _r(sum(gold) / len(gold)) if gold else None,
        "predicted_mean": _r(sum(scores) / len(scores)) if scores else None,
        "mean_signed_error": _r(mean_signed_error(gold, pred)) if gold else None,
        "exact": a.get("exact"), "within_one": a.get("adjacent"), "steps_qwk": a.get("qwk"),
        "criteria_qwk": agreement(cg, cp)["qwk"] if cg else None,
        "criteria": len(cg),
    }


def _overall(item: dict[str, Any], weights: dict[str, float]) -> float | None:
    """The interview's predicted overall score: the weighted mean of its step scores."""
    got = [(e["score"][0], weights.get(step, 1.0)) for step, e in item["steps"].items()
           if e.get("score") and e["score"][0] is not None]
    total = sum(w for _, w in got)
    return sum(s * w for s, w in got) / total if total else None


def by_tag(items: Iterable[dict[str, Any]], weights: dict[str, float] | None = None
           ) -> dict[str, Any]:
    """{"interview": {tag: block}, "step": {tag: block}} (see the module docstring)."""
    ok = [i for i in items if not i["failed"]]
    weights = weights or {}
    all_steps = {i["id"]: list(i["steps"]) for i in ok}
    rows = {i["id"]: _rows(i) for i in ok}

    interview_tags: dict[str, list[dict[str, Any]]] = {}
    for item in ok:
        tags = [t for t in item.get("tags") or [] if isinstance(t, str)]
        if not any(t in ADVERSARIAL for t in tags):
            interview_tags.setdefault(GENUINE, []).append(item)
        if item.get("mixed") or sum(1 for t in set(tags) if t in ADVERSARIAL) > 1:
            continue  # a different adversarial tag each step: see the per-step rows
        for t in tags:
            interview_tags.setdefault(t, []).append(item)
    interview: dict[str, Any] = {ALL: _block(ok, all_steps, rows)}
    for tag in sorted(interview_tags, key=lambda t: (t not in ADVERSARIAL, t != GENUINE, t)):
        members = interview_tags[tag]
        block = _block(members, all_steps, rows)
        overall = [o for o in (_overall(i, weights) for i in members) if o is not None]
        per_step = [e["score"][0] for i in members for s, e in i["steps"].items()
                    if s in STEPS and e.get("score") and e["score"][0] is not None]
        block["no_hire"] = sum(1 for o in overall if band(o) == "no hire")
        block["step_score_mean"] = _r(sum(per_step) / len(per_step)) if per_step else None
        interview[tag] = block
    step_tags: dict[str, dict[str, list[str]]] = {}
    for item in ok:
        for step, tag in (item.get("profile") or {}).items():
            step_tags.setdefault(tag, {}).setdefault(item["id"], []).append(step)
    by_id = {i["id"]: i for i in ok}
    step = {}
    for tag in sorted(step_tags, key=lambda t: (t not in ADVERSARIAL, t)):
        ids = step_tags[tag]
        step[tag] = _block([by_id[i] for i in ids], ids, rows)
    return {"interview": interview, "step": step}


def judge_samples(items: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Sample-to-sample agreement of the LLM judge's criterion levels (first repeat), when it
    was asked for several samples per step; None otherwise."""
    rows = [e["samples"][0] for i in items if not i["failed"] for e in i["criteria"].values()
            if e.get("samples") and e["samples"][0]]
    if not rows:
        return None
    k = min(len(r) for r in rows)
    if k < 2:
        return None
    return {**test_retest([[r[j] for r in rows] for j in range(k)]),
            "unanimous": round(sum(1 for r in rows if len(set(r)) == 1) / len(rows), 4)}


HEADER = ["tag", "interviews", "steps", "gold mean", "predicted mean", "signed error", "exact",
          "within one", "steps QWK", "criteria QWK", "no hire"]


def _v(x: Any) -> str:
    return "—" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)


def rows(table: dict[str, Any], kind: str = "interview") -> list[list[str]]:
    """Table rows for one kind of tag ("interview" or "step")."""
    out = []
    for tag, b in table.get(kind, {}).items():
        no_hire = "" if "no_hire" not in b or tag == ALL else f"{b['no_hire']}/{b['interviews']}"
        out.append([tag, str(b["interviews"]), str(b["steps"]), _v(b["gold_mean"]),
                    _v(b["predicted_mean"]), _v(b["mean_signed_error"]), _v(b["exact"]),
                    _v(b["within_one"]), _v(b["steps_qwk"]), _v(b["criteria_qwk"]), no_hire])
    return out


def to_text(table: dict[str, Any]) -> str:
    """The interview-tag table as aligned plain text (what ``eval run`` prints)."""
    body = [HEADER, *rows(table)]
    widths = [max(len(r[i]) for r in body) for i in range(len(HEADER))]
    lines = ["By interview tag (steps: gold vs predicted step level; 'no hire': interviews "
             "the scorer bands no hire)"]
    for r in body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)
