"""``interviewer eval compare``: what changed between two runs over the same dataset.

Items are paired by id. Each metric's change comes with a paired-bootstrap interval (both runs
resampled on the same interviews). The gate (``regressions``, what --fail-on-regression fails
on) lists:

- QWK or exact agreement dropping with the whole interval below zero;
- the runs not covering the same interviews (e.g. a ``--limit`` run against a full one): the
  metrics then rest only on the shared interviews, so "no regression" would mean little;
- interviews that failed to score in the new run but not in the base (they drop out of every
  metric, so a run that fails on its hard items can look better).

Runs over different datasets (different sha256) are refused with ``DatasetMismatch``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.datafile import unreadable
from evals.analysis import gold_of
from evals.metrics import METRICS, metric_value, paired_bootstrap_delta
from evals.outputs import OFFLINE_READS, data_line

GATED = ("qwk", "exact")


class CompareError(ValueError):
    pass


class DatasetMismatch(CompareError):
    """The two runs scored different datasets: nothing to pair (the CLI exits 2 on it)."""


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CompareError(f"{path}: {unreadable(e)}") from None
    except ValueError as e:
        raise CompareError(f"{path}: not a results file (invalid JSON: {e})") from None
    problem = _shape_problem(data)
    if problem:
        raise CompareError(f"{path}: not an 'interviewer eval run' results file ({problem})")
    return data  # type: ignore[no-any-return]


def _shape_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "expected a JSON object"
    knobs = data.get("knobs")
    if not isinstance(knobs, dict) or not isinstance(knobs.get("dataset"), dict) or not (
            isinstance(knobs["dataset"].get("sha256"), str)):
        return "missing knobs.dataset.sha256"
    for key in ("scorer", "rubric_version"):
        if key not in knobs:
            return f"missing knobs.{key}"
    items = data.get("items")
    if not isinstance(items, list):
        return "missing items"
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not {"id", "failed", "steps", "criteria"} <= set(item):
            return f"items[{n}] lacks id, failed, steps or criteria"
        for kind in ("steps", "criteria"):
            for key, entry in item[kind].items():
                if not isinstance(entry, dict) or not isinstance(entry.get("predicted"), list) \
                        or not isinstance(entry.get("gold"), dict):
                    return f"items[{n}].{kind}.{key} lacks gold or predicted"
    return None


def _aligned(base: dict[str, Any], new: dict[str, Any], kind: str, keys: set[str] | None = None
             ) -> tuple[list[int], list[int], list[int], list[str]]:
    new_items = {i["id"]: i for i in new["items"]}
    g: list[int] = []
    b: list[int] = []
    n: list[int] = []
    clusters: list[str] = []
    for item in base["items"]:
        other = new_items.get(item["id"])
        if other is None or item["failed"] or other["failed"]:
            continue
        for key, entry in item[kind].items():
            if keys is not None and key not in keys:
                continue
            gold = gold_of(entry["gold"])
            pb = entry["predicted"][0]
            pn = other[kind].get(key, {}).get("predicted", [None])[0]
            if gold is None or pb is None or pn is None:
                continue
            g.append(gold)
            b.append(pb)
            n.append(pn)
            clusters.append(item["id"])
    return g, b, n, clusters


def _delta(g: list[int], b: list[int], n: list[int], name: str, clusters: list[str],
           n_boot: int, seed: int) -> dict[str, float | None]:
    """paired_bootstrap_delta, or the point change with no interval when n_boot is 0."""
    if n_boot >= 1:
        return paired_bootstrap_delta(g, b, n, name, clusters=clusters, n_boot=n_boot,
                                      seed=seed)
    vb, vn = metric_value(name, g, b), metric_value(name, g, n)
    delta = None if vb is None or vn is None else vn - vb
    return {k: None if v is None else round(v, 4)
            for k, v in (("base", vb), ("new", vn), ("delta", delta), ("lo", None),
                         ("hi", None))}


def compare(base: dict[str, Any], new: dict[str, Any], *, n_boot: int = 1000,
            seed: int = 0) -> dict[str, Any]:
    if n_boot < 0:
        raise CompareError("--bootstrap: must be 0 or more (0 = no intervals)")
    db, dn = base["knobs"]["dataset"], new["knobs"]["dataset"]
    if db["sha256"] != dn["sha256"]:
        raise DatasetMismatch(
            f"refusing to compare runs over different datasets: base is {db['name']} "
            f"(sha256 {db['sha256'][:12]}), new is {dn['name']} (sha256 {dn['sha256'][:12]})")
    out: dict[str, Any] = {"dataset": db, "base": base["knobs"], "new": new["knobs"],
                           "overall": {}, "per_step": {}, "changed": [], "regressions": [],
                           "bootstrap_resamples": n_boot}
    out["coverage"] = cov = coverage(base, new)
    out["unpaired_items"] = sorted(cov["only_in_base"] + cov["only_in_new"])
    for kind in ("steps", "criteria"):
        g, b, n, c = _aligned(base, new, kind)
        out["overall"][kind] = {"n": len(g), **{
            m: _delta(g, b, n, m, c, n_boot, seed) for m in METRICS}}
        for m in GATED:
            d = out["overall"][kind][m]
            if d["hi"] is not None and d["hi"] < 0:
                out["regressions"].append(
                    f"{m} on {kind} fell by {-d['delta']:.3f} (95% interval {d['lo']:.3f} to "
                    f"{d['hi']:.3f})")
    steps = sorted({s for i in base["items"] for s in i["steps"]})
    for step in steps:
        crit = {k for i in base["items"] for k in i["criteria"] if k.startswith(step + ".")}
        row: dict[str, Any] = {}
        for kind, keys in (("holistic", {step}), ("criteria", crit)):
            g, b, n, c = _aligned(base, new, "steps" if kind == "holistic" else "criteria",
                                  keys)
            row[kind] = {m: _delta(g, b, n, m, c, max(n_boot // 4, min(n_boot, 1)), seed)
                         for m in GATED}
        out["per_step"][step] = row
    new_items = {i["id"]: i for i in new["items"]}
    for item in base["items"]:
        other = new_items.get(item["id"])
        if other is None:
            continue
        for kind in ("steps", "criteria"):
            for key, entry in item[kind].items():
                pb = entry["predicted"][0]
                pn = other[kind].get(key, {}).get("predicted", [None])[0]
                if pb == pn:
                    continue
                gold = gold_of(entry["gold"])
                worse = None if gold is None or pb is None or pn is None else (
                    abs(pn - gold) - abs(pb - gold))
                out["changed"].append({"item": item["id"], "kind": kind, "key": key,
                                       "gold": gold, "base": pb, "new": pn, "worse_by": worse})
    out["changed"].sort(key=lambda c: (-(c["worse_by"] if c["worse_by"] is not None else 99),
                                       c["item"], c["key"]))
    out["moved"] = moved(out["changed"])
    out["coverage_problems"] = coverage_problems(cov)
    out["regressions"] += out["coverage_problems"]  # the gate fails on either kind
    return out


def direction(change: dict[str, Any]) -> str:
    """Where a changed level went relative to the gold label: "toward", "away", "same distance"
    (e.g. 2 -> 4 with gold 3) or "unlabelled" (no gold, or a side with no level)."""
    worse = change.get("worse_by")
    if worse is None:
        return "unlabelled"
    return "away" if worse > 0 else "toward" if worse < 0 else "same distance"


def moved(changed: list[dict[str, Any]]) -> dict[str, int]:
    """How many changed levels moved toward the gold label, away from it, neither, or have no
    label to move against."""
    out = dict.fromkeys(("toward", "away", "same distance", "unlabelled"), 0)
    for c in changed:
        out[direction(c)] += 1
    return out


def _moved_line(m: dict[str, int]) -> str:
    return (f"{m['away']} moved away from gold, {m['toward']} toward it, {m['same distance']} "
            f"the same distance from it" + (f", {m['unlabelled']} with no label"
                                           if m["unlabelled"] else ""))


def _limit(knobs: dict[str, Any]) -> str:
    lim = knobs.get("limit")
    return f"a --limit {lim} run" if lim else "a full run"


def coverage(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Which interviews each run scored, and which failed where."""
    b = {i["id"]: bool(i["failed"]) for i in base["items"]}
    n = {i["id"]: bool(i["failed"]) for i in new["items"]}
    both = [i for i in b if i in n]
    return {
        "base_items": len(b), "new_items": len(n), "paired": len(both),
        "base_limit": base["knobs"].get("limit"), "new_limit": new["knobs"].get("limit"),
        "only_in_base": [i for i in b if i not in n],
        "only_in_new": [i for i in n if i not in b],
        "newly_failed": [i for i in both if n[i] and not b[i]],
        "newly_scored": [i for i in both if b[i] and not n[i]],
        "failed_in_both": [i for i in both if b[i] and n[i]],
        "compared": sum(1 for i in both if not b[i] and not n[i]),
    }


def _ids(ids: list[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", … ({len(ids) - limit} more)" if len(ids) > limit else "")


def coverage_problems(cov: dict[str, Any]) -> list[str]:
    """The gate lines for interviews not compared on both sides."""
    problems = []
    unpaired = len(cov["only_in_base"]) + len(cov["only_in_new"])
    if unpaired:
        lim = ""
        if cov["base_limit"] != cov["new_limit"]:
            lim = (f"; base is {_limit({'limit': cov['base_limit']})}, new is "
                   f"{_limit({'limit': cov['new_limit']})}")
        problems.append(
            f"the runs cover different interviews: {unpaired} unpaired (base "
            f"{cov['base_items']}, new {cov['new_items']}, shared {cov['paired']}{lim}); the "
            "metrics rest only on the shared ones")
    if cov["newly_failed"]:
        problems.append(f"{len(cov['newly_failed'])} interviews failed to score in new only, "
                        f"so they are missing from its metrics: {_ids(cov['newly_failed'])}")
    return problems


def _hash_changes(what: str, b: Any, n: Any) -> list[str]:
    """The entries of two name -> hash mappings that differ ("unknown" on a side that did not
    record them)."""
    if not isinstance(b, dict) or not isinstance(n, dict):
        if b == n:
            return []
        side = "base" if not isinstance(b, dict) else "new"
        return [f"{what} files: unknown in {side} (written before they were recorded)"]
    out = []
    for name in sorted(set(b) | set(n)):
        hb, hn = b.get(name, "absent"), n.get(name, "absent")
        if hb != hn:
            out.append(f"{what} {name} ({hb} → {hn})")
    return out


def knob_differences(b: dict[str, Any], n: dict[str, Any]) -> list[str]:
    """What differs between two runs' recorded inputs: scorer, model, judge prompts, each
    rubric file, each case file and, offline, each prompt data file."""
    keys = ("scorer", "model", "prompt_hashes", "offline_rules")
    out = [f"{key} ({b.get(key, 'unknown')} → {n.get(key, 'unknown')})"
           for key in keys if b.get(key, "unknown") != n.get(key, "unknown")]
    out += _hash_changes("rubric", b.get("rubric_hashes"), n.get("rubric_hashes"))
    out += _hash_changes("case", b.get("case_hashes"), n.get("case_hashes"))
    if "offline" in (b.get("scorer"), n.get("scorer")):
        out += _hash_changes("prompt data", b.get("prompt_data_hashes"),
                             n.get("prompt_data_hashes"))
    return out


def _inputs(k: dict[str, Any]) -> str:
    """A run's scorer and what it read: model and judge prompts (LLM), rubrics, cases and
    (offline) prompt data files."""
    llm = f"{k.get('model') or ''} prompts {k.get('prompt_hashes')} " if k["scorer"] == "llm" \
        else ""
    return f"{k['scorer']} {llm}rubrics {k['rubric_version']} · {data_line(k, note=False)}"


def to_markdown(cmp: dict[str, Any], limit: int = 30) -> str:
    def fmt(d: dict[str, Any]) -> str:
        if d["delta"] is None:
            return "—"
        ci = "" if d["lo"] is None else f" [{d['lo']:+.3f}, {d['hi']:+.3f}]"
        return f"{d['base']:.3f} → {d['new']:.3f} ({d['delta']:+.3f}{ci})"

    b, n = cmp["base"], cmp["new"]
    lines = ["# Eval comparison", "",
             f"Dataset `{cmp['dataset']['name']}` (sha256 {cmp['dataset']['sha256'][:12]})",
             f"- base: {_inputs(b)}", f"- new:  {_inputs(n)}",
             f"- differs: {'; '.join(knob_differences(b, n)) or 'none of the recorded inputs'}"]
    if "offline" in (b["scorer"], n["scorer"]):
        lines.append(f"- note: {OFFLINE_READS}")
    lines.append("")
    lines += _coverage_lines(cmp)
    lines += ["| metric | steps (holistic) | criteria (pooled) |", "|---|---|---|"]
    for m in METRICS:
        lines.append(f"| {m} | {fmt(cmp['overall']['steps'][m])} | "
                     f"{fmt(cmp['overall']['criteria'][m])} |")
    lines += ["", "Intervals: 95% paired bootstrap over interviews. For mae, lower is better.",
              "", "## Per step (QWK)", "", "| step | holistic | criteria |", "|---|---|---|"]
    for step, row in cmp["per_step"].items():
        lines.append(f"| {step} | {fmt(row['holistic']['qwk'])} | {fmt(row['criteria']['qwk'])} |")
    changed = cmp["changed"]
    lines += ["", f"## Changed levels ({len(changed)}), worst first", ""]
    cov = cmp.get("coverage") or {}
    if not changed and (cov.get("only_in_base") or cov.get("only_in_new")):
        lines.append(f"No item's level changed among the {cov['paired']} interviews both runs "
                     "share (the unpaired ones are listed above).")
    elif not changed:
        lines.append("No item's level changed.")
    else:
        lines += [f"Of these, {_moved_line(moved(changed))}.", "",
                  "| item | what | gold | base | new | vs gold |",
                  "|---|---|---:|---:|---:|---|"]
        for c in changed[:limit]:
            d = direction(c)
            shown = {"toward": "toward", "away": "away", "same distance": "same distance",
                     "unlabelled": "—"}[d]
            lines.append(f"| {c['item']} | {c['key']} | {c['gold']} | {c['base']} | {c['new']} "
                         f"| {shown} |")
        if len(changed) > limit:
            lines.append(f"| … | {len(changed) - limit} more in the JSON output | | | | |")
    lines += ["", "## Verdict", ""]
    cov_problems = cmp.get("coverage_problems", [])
    mv = moved(changed)
    away = mv["away"] > mv["toward"] + mv["same distance"]  # most of those with a label
    if cmp["regressions"]:
        lines += [f"- {'NOT COMPARABLE' if r in cov_problems else 'REGRESSION'}: {r}"
                  for r in cmp["regressions"]]
    elif away:
        lines.append("MOSTLY AWAY FROM GOLD: QWK and exact agreement did not drop beyond their "
                     "intervals, but of the changed levels with a label most moved away from "
                     f"it ({_moved_line(mv)}).")
    else:
        lines.append("No regression: QWK and exact agreement did not drop beyond their "
                     "intervals, and both runs scored the same interviews"
                     + (f" ({_moved_line(mv)})." if changed else "."))
    if cmp["regressions"] and changed:
        lines.append(f"- changed levels: {_moved_line(mv)}")
    if cmp.get("bootstrap_resamples") == 0:
        lines.append("- (--bootstrap 0: no intervals, so no metric can count as a regression.)")
    return "\n".join(lines) + "\n"


def _coverage_lines(cmp: dict[str, Any]) -> list[str]:
    cov = cmp.get("coverage")
    if not cov:
        return []
    lines = ["## Interviews compared", ""]
    problems = coverage_problems(cov)
    for p in problems:
        lines.append(f"**WARNING: {p}.**")
        lines.append("")
    if cov["base_limit"] != cov["new_limit"]:
        lines += [f"**Base is {_limit({'limit': cov['base_limit']})} and new is "
                  f"{_limit({'limit': cov['new_limit']})}: compare runs made with the same "
                  "--limit.**", ""]
    rows = [("only in base (missing from new)", cov["only_in_base"]),
            ("only in new (missing from base)", cov["only_in_new"]),
            ("failed to score in new only", cov["newly_failed"]),
            ("failed to score in base only", cov["newly_scored"]),
            ("failed to score in both", cov["failed_in_both"])]
    lines.append(f"{cov['compared']} interviews scored in both runs are compared "
                 f"(base has {cov['base_items']}, new {cov['new_items']}).")
    lines.append("")
    for label, ids in rows:
        if ids:
            lines.append(f"- {label} ({len(ids)}): {_ids(ids)}")
    if lines[-1] != "":
        lines.append("")
    return lines
