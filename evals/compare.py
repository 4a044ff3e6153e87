"""``interviewer eval compare``: what changed between two runs over the same dataset.

Items are paired by id. Each metric's change comes with a paired-bootstrap interval (both runs
resampled on the same interviews). A regression is QWK or exact agreement dropping with the
whole interval below zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.analysis import gold_of
from evals.metrics import METRICS, paired_bootstrap_delta

GATED = ("qwk", "exact")


class CompareError(ValueError):
    pass


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CompareError(f"{path}: cannot read ({e.strerror})") from None
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


def compare(base: dict[str, Any], new: dict[str, Any], *, n_boot: int = 1000,
            seed: int = 0) -> dict[str, Any]:
    db, dn = base["knobs"]["dataset"], new["knobs"]["dataset"]
    if db["sha256"] != dn["sha256"]:
        raise CompareError(
            f"refusing to compare runs over different datasets: base is {db['name']} "
            f"(sha256 {db['sha256'][:12]}), new is {dn['name']} (sha256 {dn['sha256'][:12]})")
    out: dict[str, Any] = {"dataset": db, "base": base["knobs"], "new": new["knobs"],
                           "overall": {}, "per_step": {}, "changed": [], "regressions": []}
    for kind in ("steps", "criteria"):
        g, b, n, c = _aligned(base, new, kind)
        out["overall"][kind] = {"n": len(g), **{
            m: paired_bootstrap_delta(g, b, n, m, clusters=c, n_boot=n_boot, seed=seed)
            for m in METRICS}}
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
            row[kind] = {m: paired_bootstrap_delta(g, b, n, m, clusters=c,
                                                   n_boot=n_boot // 4, seed=seed)
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
    missing = sorted({i["id"] for i in base["items"]} ^ set(new_items))
    out["unpaired_items"] = missing
    return out


def to_markdown(cmp: dict[str, Any], limit: int = 30) -> str:
    def fmt(d: dict[str, Any]) -> str:
        if d["delta"] is None:
            return "—"
        ci = "" if d["lo"] is None else f" [{d['lo']:+.3f}, {d['hi']:+.3f}]"
        return f"{d['base']:.3f} → {d['new']:.3f} ({d['delta']:+.3f}{ci})"

    b, n = cmp["base"], cmp["new"]
    lines = ["# Eval comparison", "",
             f"Dataset `{cmp['dataset']['name']}` (sha256 {cmp['dataset']['sha256'][:12]})",
             f"- base: {b['scorer']} {b.get('model') or ''} prompts {b.get('prompt_hashes')} "
             f"rubrics {b['rubric_version']}",
             f"- new:  {n['scorer']} {n.get('model') or ''} prompts {n.get('prompt_hashes')} "
             f"rubrics {n['rubric_version']}", "",
             "| metric | steps (holistic) | criteria (pooled) |", "|---|---|---|"]
    for m in METRICS:
        lines.append(f"| {m} | {fmt(cmp['overall']['steps'][m])} | "
                     f"{fmt(cmp['overall']['criteria'][m])} |")
    lines += ["", "Intervals: 95% paired bootstrap over interviews. For mae, lower is better.",
              "", "## Per step (QWK)", "", "| step | holistic | criteria |", "|---|---|---|"]
    for step, row in cmp["per_step"].items():
        lines.append(f"| {step} | {fmt(row['holistic']['qwk'])} | {fmt(row['criteria']['qwk'])} |")
    changed = cmp["changed"]
    lines += ["", f"## Changed levels ({len(changed)}), worst first", ""]
    if not changed:
        lines.append("No item's level changed.")
    else:
        lines += ["| item | what | gold | base | new |", "|---|---|---:|---:|---:|"]
        for c in changed[:limit]:
            lines.append(f"| {c['item']} | {c['key']} | {c['gold']} | {c['base']} | {c['new']} |")
        if len(changed) > limit:
            lines.append(f"| … | {len(changed) - limit} more in the JSON output | | | |")
    lines += ["", "## Verdict", ""]
    lines += ([f"- REGRESSION: {r}" for r in cmp["regressions"]] or
              ["No regression: QWK and exact agreement did not drop beyond their intervals."])
    return "\n".join(lines) + "\n"
