"""Clarify by meaning, measured on the clarifying-question bank (evals/clarify_bank.py).

Each bank question is put to the interviewer's ``clarify`` as the first question of a fresh
interview; the fact ids it says it told are compared with the question's label:

- **precision**: of the facts told, the share the question asked about;
- **recall**: of the facts asked about, the share told;
- **clue leaks**: clue facts told that the question did not ask for (the gate wants 0);
- **assumption asked**: for an off-sheet question, whether the reply tells the candidate to make
  an assumption and state it.

Reported per split, per kind and per case. Thresholds are tuned on dev only; held-out measures them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.cases import Case, default_cases
from agent.policy import Interviewer, Silent
from evals.clarify_bank import KINDS, BankQuestion, ClarifyBank, load_splits


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def _tally(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    tp = sum(r["tp"] for r in rows)
    fp = sum(r["fp"] for r in rows)
    fn = sum(r["fn"] for r in rows)
    off = [r for r in rows if r["kind"] == "off_sheet"]
    return {"questions": len(rows), "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn), "clue_leaks": sum(r["leaks"] for r in rows),
            "exact": _ratio(sum(1 for r in rows if not r["fp"] and not r["fn"]), len(rows)),
            "assumption_asked": _ratio(sum(1 for r in off if r["assume"]), len(off))}


def ask(interviewer: Interviewer, case: Case, q: BankQuestion) -> dict[str, Any]:
    reply = interviewer.clarify(case, q.question, [], Silent())
    got, want = set(reply.fact_ids), set(q.expect)
    clues = {f.id for f in case.facts if f.clue}
    return {"id": q.id, "case": q.case, "kind": q.kind, "tp": len(got & want),
            "fp": len(got - want), "fn": len(want - got), "leaks": len((got - want) & clues),
            "told": sorted(got), "expect": sorted(want),
            "assume": "assum" in reply.text.lower() and not got}


def measure(interviewer: Interviewer, banks: dict[str, ClarifyBank] | None = None
            ) -> dict[str, Any]:
    """Precision, recall and clue leaks per split, and per kind and per case within each
    split."""
    banks = banks or load_splits()
    cases = default_cases()
    out: dict[str, Any] = {}
    for name, bank in banks.items():
        rows = [ask(interviewer, cases[q.case], q) for q in bank.questions]
        out[name] = {**_tally(rows),
                     "by_kind": {k: _tally([r for r in rows if r["kind"] == k])
                                 for k in KINDS if any(r["kind"] == k for r in rows)},
                     "by_case": {c: _tally([r for r in rows if r["case"] == c])
                                 for c in sorted({r["case"] for r in rows})},
                     "wrong": [{k: r[k] for k in ("id", "kind", "expect", "told")}
                               for r in rows if r["fp"] or r["fn"]]}
    return out


def to_markdown(figures: dict[str, Any]) -> str:
    def cell(v: Any) -> str:
        return "—" if v is None else f"{v:g}" if isinstance(v, float) else str(v)

    lines = ["## Clarify by meaning (clarifying-question bank)", "",
             "| split | kind | questions | precision | recall | clue leaks | exact | "
             "assumption asked |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for split, f in figures.items():
        for label, row in [("all", f), *f["by_kind"].items()]:
            lines.append(f"| {split} | {label} | {row['questions']} | {cell(row['precision'])} "
                         f"| {cell(row['recall'])} | {row['clue_leaks']} | {cell(row['exact'])} "
                         f"| {cell(row['assumption_asked'])} |")
    lines += ["", "### By case", "",
              "| split | case | questions | precision | recall | clue leaks | exact |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for split, f in figures.items():
        for case, row in f.get("by_case", {}).items():
            lines.append(f"| {split} | {case} | {row['questions']} | {cell(row['precision'])} "
                         f"| {cell(row['recall'])} | {row['clue_leaks']} | {cell(row['exact'])} |")
    return "\n".join(lines) + "\n"
