"""``interviewer eval gate RESULTS.json --config evals/gates.toml``: check eval results against
quality gates and exit non-zero naming every gate that fails.

A gate bounds one metric of one tag row of the results' by-interview-tag table (evals/tags.py);
see evals/gates.toml for the format. A gate whose tag has no interviews in the results (or
whose metric has no value there) is reported as "no data" and fails, naming the tags the
results do have and the closest one (a typo such as ``keyword_sallad`` must not pass silently);
a gate with ``optional = true`` reports "no data" without failing, except with ``--strict``. A
gate with ``enforce = false`` is checked and printed ("known" when it fails) without failing the
run: a known gap, recorded in gates.toml with what it measured.

A gate with ``split = "dev"`` applies only to results on a dataset of that name (the file name
without .jsonl). Every gate skipped for that reason is listed with the reason (a results file of
a copy of dev, ``dev-plus.jsonl``, is not dev); when no gate applies at all the run fails.
``--strict`` fails on the skipped gates when the results' dataset is a split no gate of the file
names (a copy or a new dataset: the split gates were meant for it, or it has none); results on
``heldout`` skip the dev gates by design, since heldout has gates of its own. A split that
names neither a shipped dataset (evals/datasets) nor the results' own is an error with a
did-you-mean (``split = "devv"`` used to skip its gates silently).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.datafile import closest, did_you_mean, unreadable
from evals.tags import ADVERSARIAL, ALL, GENUINE, by_tag

DATASETS = Path(__file__).resolve().parent / "datasets"

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
    optional: bool = False
    """True: "no data" (the tag has no interviews in these results) does not fail the run
    (except with --strict)"""


@dataclass(frozen=True)
class Outcome:
    gate: Gate
    value: float | None
    status: str
    """"pass", "FAIL", "known" (failing, not enforced), "no data" or "skipped" (a gate of
    another split)"""
    why: str = ""
    """for "no data": what matched nothing, the tags there are, and the closest one; for
    "skipped": the gate's split and the results'"""


def _read(path: Path) -> str:
    """The file's text; GateError in plain words ("no such file") when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise GateError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise GateError(f"{path}: {unreadable(e)}") from None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as err:
        raise GateError(f"{path}: invalid TOML: {err}") from None


def load_gates(path: Path) -> list[Gate]:
    raw = _toml(path)
    entries = raw.get("gate")
    if not isinstance(entries, list) or not entries:
        raise GateError(f"{path}: no [[gate]] entries")
    gates = []
    for i, e in enumerate(entries, 1):
        where = f"{path}: gate {i}"
        if not isinstance(e, dict):
            raise GateError(f"{where}: not a table")
        unknown = sorted(set(e) - {"name", "tag", "metric", "min", "max", "split", "enforce",
                                 "optional"})
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
        optional = e.get("optional", False)
        if not isinstance(optional, bool):
            raise GateError(f"{where} ({e['name']}): optional must be true or false")
        gates.append(Gate(e["name"], e["tag"], e["metric"],
                          None if bounds["min"] is None else float(bounds["min"]),
                          None if bounds["max"] is None else float(bounds["max"]), split,
                          enforce, optional))
    return gates


def _value(row: dict[str, Any], metric: str) -> float | None:
    if metric == "no_hire_share":
        n = row.get("interviews") or 0
        return row["no_hire"] / n if n and "no_hire" in row else None
    v = row.get(metric)
    return None if v is None else float(v)


def known_splits() -> list[str]:
    """The shipped interview datasets' names (evals/datasets/*.jsonl, the clarify banks left
    out): what a gate's ``split`` may name besides the results' own dataset."""
    return sorted(p.stem for p in DATASETS.glob("*.jsonl") if not p.stem.startswith("clarify"))


def check_splits(gates: list[Gate], split: str, config: Path | str = "gates") -> None:
    """GateError naming each gate whose ``split`` is neither a shipped dataset nor ``split``
    (the results' dataset), with a did-you-mean: such a gate could never apply."""
    known = sorted({*known_splits(), split})
    bad = [(i, g) for i, g in enumerate(gates, 1) if g.split is not None and g.split not in known]
    if bad:
        raise GateError("\n".join(
            f"{config}: gate {i} ({g.name}): split {g.split!r} names no dataset (known: "
            f"{', '.join(known)}){did_you_mean(g.split or '', known)}" for i, g in bad))


def check(results: dict[str, Any], gates: list[Gate]) -> list[Outcome]:
    table = (results.get("metrics") or {}).get("by_interview_tag") or by_tag(results["items"])
    split = results["knobs"]["dataset"]["name"]
    out = []
    for g in gates:
        if g.split is not None and g.split != split:
            out.append(Outcome(g, None, "skipped", f"only for split {g.split!r}; these results "
                               f"are on {split!r}"))
            continue
        row = table["interview"].get(g.tag)
        value = _value(row, g.metric) if row else None
        if value is None:
            out.append(Outcome(g, None, "no data", _no_data(g, table, row)))
            continue
        ok = (g.min is None or value >= g.min - 1e-9) and (g.max is None or value <= g.max + 1e-9)
        status = "pass" if ok else "FAIL" if g.enforce else "known"
        out.append(Outcome(g, round(value, 4), status))
    return out


def _no_data(g: Gate, table: dict[str, Any], row: dict[str, Any] | None) -> str:
    """Why a gate has no value: its tag matches no interview of the results (named with the
    tags they have and the closest tag there is), or the tag's row has no such figure."""
    if row:
        return f"the {g.tag!r} row has no {g.metric} value in these results"
    here = list(table["interview"])
    known = sorted({*here, *ADVERSARIAL, GENUINE, ALL})
    close = closest(g.tag, known)
    hint = ""
    if g.tag in known:
        hint = "; the datasets use it, but these results hold no interview with it"
    elif close:
        hint = did_you_mean(g.tag, known) + (
            "" if close in here else " (no interview here has that tag either)")
    return (f"tag {g.tag!r} matches no interview in these results (tags here: "
            f"{', '.join(here)}){hint}")


def render(outcomes: list[Outcome], source: str) -> str:
    lines = [f"Gates on {source}:"]
    for o in outcomes:
        if o.status == "skipped":
            lines.append(f"  skipped {o.gate.name} ({o.gate.tag}, {o.gate.metric}): {o.why}")
            continue
        bound = " and ".join(x for x in (
            f">= {o.gate.min:g}" if o.gate.min is not None else "",
            f"<= {o.gate.max:g}" if o.gate.max is not None else "") if x)
        value = "—" if o.value is None else f"{o.value:g}"
        lines.append(f"  {o.status:<7} {o.gate.name}: {o.gate.metric} of '{o.gate.tag}' = "
                     f"{value} (needs {bound})" + (f": {o.why}" if o.why else "")
                     + (" (optional)" if o.status == "no data" and o.gate.optional else ""))
    return "\n".join(lines)


def run(results_path: Path, config: Path, strict: bool = False) -> tuple[int, str]:
    """(exit status, report): 1 when a gate fails or has no data (an ``optional`` gate's
    missing data fails only with ``strict``), when no gate applies to the results' split, and
    with ``strict`` when gates were skipped and no gate names the results' split."""
    text = _read(results_path)
    try:
        results = json.loads(text)
    except ValueError as e:
        raise GateError(f"{results_path}: not an 'interviewer eval run' results file (invalid "
                        f"JSON: {e})") from None
    try:
        results["knobs"]["dataset"]["name"]
        results["items"]
    except (KeyError, TypeError) as e:
        raise GateError(f"{results_path}: not an 'interviewer eval run' results file (it has "
                        f"no {e} field)" if isinstance(e, KeyError) else
                        f"{results_path}: not an 'interviewer eval run' results file") from None
    gates = load_gates(config)
    split = str(results["knobs"]["dataset"]["name"])
    check_splits(gates, split, config)
    outcomes = check(results, gates)
    own_gates = any(g.split == split for g in gates)
    failed = [o for o in outcomes if o.status == "FAIL" or (
        o.status == "no data" and (strict or not o.gate.optional)) or (
        o.status == "skipped" and strict and not own_gates)]
    text = render(outcomes, str(results_path))
    known = [o for o in outcomes if o.status == "known"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    if known:
        text += "\n" + "\n".join(f"KNOWN FAILING (not enforced): {o.gate.name}" for o in known)
    if failed:
        text += "\n" + "\n".join(
            f"FAILED: {o.gate.name}" + (f" ({o.status})" if o.status in (
                "no data", "skipped") else "") for o in failed)
    if len(skipped) == len(outcomes):
        others = ", ".join(sorted({o.gate.split or "" for o in skipped}))
        text += (f"\nFAILED: no gate of {config} applies to these results: all {len(skipped)} "
                 f"are for another split ({others}) and these results are on {split!r}. Run on "
                 "that split's dataset, or add gates without a split (or with this one).")
        return 1, text
    if skipped:
        text += (f"\n{len(skipped)} of {len(outcomes)} gates skipped (for another split than "
                 f"{split!r})")
        if own_gates:
            text += f"; {split!r} has split gates of its own."
        else:
            text += (f"; no gate names {split!r} (a copy of a split under another file name is "
                     "another split)" + ("; --strict fails them." if strict else
                                         "; --strict fails on them."))
    if not failed:
        text += ("\nAll enforced gates that apply passed." if skipped
                 else "\nAll enforced gates passed.")
    return (1 if failed else 0), text


# -- behaviour gates (``[[behaviour]]`` in gates.toml, checked by ``eval behaviour``) ----------

@dataclass(frozen=True)
class BehaviourGate:
    name: str
    metric: str
    """a dotted path into the ``eval behaviour`` summary, e.g. "clarify.heldout.precision\""""
    min: float | None = None
    max: float | None = None
    enforce: bool = True


def load_behaviour_gates(path: Path) -> list[BehaviourGate]:
    """The ``[[behaviour]]`` entries of a gates file ([] when it has none)."""
    raw = _toml(path)
    entries = raw.get("behaviour", [])
    if not isinstance(entries, list):
        raise GateError(f"{path}: [[behaviour]] must be an array of tables")
    gates = []
    for i, e in enumerate(entries, 1):
        where = f"{path}: behaviour gate {i}"
        if not isinstance(e, dict):
            raise GateError(f"{where}: not a table")
        unknown = sorted(set(e) - {"name", "metric", "min", "max", "enforce"})
        if unknown:
            raise GateError(f"{where}: unknown field {unknown[0]!r}")
        for key in ("name", "metric"):
            if not isinstance(e.get(key), str) or not e[key]:
                raise GateError(f"{where}: field {key!r} must be a non-empty string")
        bounds = {k: e.get(k) for k in ("min", "max")}
        if all(v is None for v in bounds.values()):
            raise GateError(f"{where} ({e['name']}): needs min or max")
        for k, v in bounds.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise GateError(f"{where} ({e['name']}): {k} must be a number")
        enforce = e.get("enforce", True)
        if not isinstance(enforce, bool):
            raise GateError(f"{where} ({e['name']}): enforce must be true or false")
        gates.append(BehaviourGate(
            e["name"], e["metric"], None if bounds["min"] is None else float(bounds["min"]),
            None if bounds["max"] is None else float(bounds["max"]), enforce))
    return gates


def _lookup(summary: dict[str, Any], metric: str) -> float | None:
    node: Any = summary
    for key in metric.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return None if node is None or isinstance(node, bool) else float(node)


def check_behaviour(summary: dict[str, Any], gates: list[BehaviourGate]
                    ) -> tuple[bool, str]:
    """(every enforced gate passed, a report line per gate). A metric the summary does not
    have (another dataset's figure) is reported as "no data" and fails nothing."""
    lines = ["## Gates", ""]
    ok = True
    for g in gates:
        value = _lookup(summary, g.metric)
        bound = " and ".join(x for x in (
            f">= {g.min:g}" if g.min is not None else "",
            f"<= {g.max:g}" if g.max is not None else "") if x)
        if value is None:
            status = "no data"
        elif (g.min is None or value >= g.min - 1e-9) and (g.max is None
                                                           or value <= g.max + 1e-9):
            status = "pass"
        else:
            status = "FAIL" if g.enforce else "known"
            ok = ok and not g.enforce
        shown = "—" if value is None else f"{value:g}"
        lines.append(f"- {status}: {g.name}: {g.metric} = {shown} (needs {bound})"
                     + (" — known failing, not enforced" if status == "known" else ""))
    return ok, "\n".join(lines) + "\n"
