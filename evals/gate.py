"""``interviewer eval gate RESULTS.json --config evals/gates.toml``: check eval results against
quality gates and exit non-zero naming every gate that fails.

A gate bounds one metric of one tag row of the results' by-interview-tag table (evals/tags.py);
see evals/gates.toml for the format. A gate whose tag has no interviews in the results is
reported as "no data": it fails only with ``--strict`` (use it where the data must be there). A
gate with ``enforce = false`` is checked and printed ("known" when it fails) without failing the
run: a known gap, recorded in gates.toml with what it measured.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.tags import by_tag

METRICS = ("no_hire_share", "step_score_mean", "within_one", "steps_qwk", "criteria_qwk",
           "exact", "predicted_mean", "gold_mean")


class GateError(ValueError):
    """A bad config or results file; ``str()`` names the file and what is wrong."""


@dataclass(frozen=True)
class Gate:
    name: str
    tag: str
    metric: str
    min: float | None = None
    max: float | None = None
    split: str | None = None
    enforce: bool = True
    """False: checked and printed, but a failure does not fail the run (a known gap, named in
    gates.toml with what it measured)"""


@dataclass(frozen=True)
class Outcome:
    gate: Gate
    value: float | None
    status: str
    """"pass", "FAIL", "known" (failing, not enforced), "no data" or "other split\""""


def load_gates(path: Path) -> list[Gate]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise GateError(f"{path}: {err}") from None
    entries = raw.get("gate")
    if not isinstance(entries, list) or not entries:
        raise GateError(f"{path}: no [[gate]] entries")
    gates = []
    for i, e in enumerate(entries, 1):
        where = f"{path}: gate {i}"
        if not isinstance(e, dict):
            raise GateError(f"{where}: not a table")
        unknown = sorted(set(e) - {"name", "tag", "metric", "min", "max", "split", "enforce"})
        if unknown:
            raise GateError(f"{where}: unknown field {unknown[0]!r}")
        for key in ("name", "tag", "metric"):
            if not isinstance(e.get(key), str) or not e[key]:
                raise GateError(f"{where}: field {key!r} must be a non-empty string")
        if e["metric"] not in METRICS:
            raise GateError(f"{where} ({e['name']}): metric {e['metric']!r} is not one of "
                            f"{', '.join(METRICS)}")
        bounds = {k: e.get(k) for k in ("min", "max")}
        if all(v is None for v in bounds.values()):
            raise GateError(f"{where} ({e['name']}): needs min or max")
        for k, v in bounds.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise GateError(f"{where} ({e['name']}): {k} must be a number")
        split = e.get("split")
        if split is not None and not isinstance(split, str):
            raise GateError(f"{where} ({e['name']}): split must be a dataset name")
        enforce = e.get("enforce", True)
        if not isinstance(enforce, bool):
            raise GateError(f"{where} ({e['name']}): enforce must be true or false")
        gates.append(Gate(e["name"], e["tag"], e["metric"],
                          None if bounds["min"] is None else float(bounds["min"]),
                          None if bounds["max"] is None else float(bounds["max"]), split,
                          enforce))
    return gates


def _value(row: dict[str, Any], metric: str) -> float | None:
    if metric == "no_hire_share":
        n = row.get("interviews") or 0
        return row["no_hire"] / n if n and "no_hire" in row else None
    v = row.get(metric)
    return None if v is None else float(v)


def check(results: dict[str, Any], gates: list[Gate]) -> list[Outcome]:
    table = (results.get("metrics") or {}).get("by_interview_tag") or by_tag(results["items"])
    split = results["knobs"]["dataset"]["name"]
    out = []
    for g in gates:
        if g.split is not None and g.split != split:
            out.append(Outcome(g, None, "other split"))
            continue
        row = table["interview"].get(g.tag)
        value = _value(row, g.metric) if row else None
        if value is None:
            out.append(Outcome(g, None, "no data"))
            continue
        ok = (g.min is None or value >= g.min - 1e-9) and (g.max is None or value <= g.max + 1e-9)
        status = "pass" if ok else "FAIL" if g.enforce else "known"
        out.append(Outcome(g, round(value, 4), status))
    return out


def render(outcomes: list[Outcome], source: str) -> str:
    lines = [f"Gates on {source}:"]
    for o in outcomes:
        if o.status == "other split":
            continue
        bound = " and ".join(x for x in (
            f">= {o.gate.min:g}" if o.gate.min is not None else "",
            f"<= {o.gate.max:g}" if o.gate.max is not None else "") if x)
        value = "—" if o.value is None else f"{o.value:g}"
        lines.append(f"  {o.status:<7} {o.gate.name}: {o.gate.metric} of '{o.gate.tag}' = "
                     f"{value} (needs {bound})")
    return "\n".join(lines)


def run(results_path: Path, config: Path, strict: bool = False) -> tuple[int, str]:
    """(exit status, report): 1 when a gate fails (or, with ``strict``, has no data)."""
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        results["knobs"]["dataset"]["name"]
        results["items"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise GateError(f"{results_path}: not eval run results ({e})") from None
    outcomes = check(results, load_gates(config))
    failed = [o for o in outcomes if o.status == "FAIL" or (strict and o.status == "no data")]
    text = render(outcomes, str(results_path))
    known = [o for o in outcomes if o.status == "known"]
    if known:
        text += "\n" + "\n".join(f"KNOWN FAILING (not enforced): {o.gate.name}" for o in known)
    if failed:
        text += "\n" + "\n".join(f"FAILED: {o.gate.name}" for o in failed)
    else:
        text += "\nAll enforced gates passed."
    return (1 if failed else 0), text
