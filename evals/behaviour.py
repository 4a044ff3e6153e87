"""Interviewer behaviour evals: replay each recorded interview's candidate answers through the
graph and check what the interviewer decides and says.

Checks:
- gap probe or not after a step's first answer, against the human label (a step labelled
  1-2 should get a gap probe; 3-4 should not: it moves on, or is deepened or challenged);
- follow-ups that react (agent/probes/react.py): strong steps deepened or challenged, weak
  steps probed for a gap, steps using facts never told challenged, and no deepen or challenge
  naming a rubric phrase the candidate had not said;
- the rubric never reaches the candidate (no 8-word run of any criterion's text or levels);
- clarify reveals no fact the candidate did not ask about: a reply may only contain facts the
  interviewer chose to tell for that question, and a message that asks nothing reveals nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from agent.cases import Case, default_cases
from agent.offline import question_parts
from agent.policy import Interviewer
from agent.rubrics import RubricSet, default_rubrics
from agent.semantic.facts import revealed
from agent.signals import first_match, normalise
from agent.steps import STEPS
from evals.clarify_eval import measure
from evals.clarify_eval import to_markdown as clarify_markdown
from evals.dataset import Dataset, Interview
from evals.drive import drive

SHINGLE = 8


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    words = re.findall(r"[a-z0-9%]+", normalise(text))
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def rubric_shingles(rubrics: RubricSet) -> set[str]:
    out: set[str] = set()
    for r in rubrics.rubrics.values():
        for c in r.criteria:
            for text in (c.looks_for, *c.levels.values()):
                out |= shingles(text)
    return out


def fact_shingles(case: Case) -> dict[str, set[str]]:
    return {f.id: shingles(f.answer) for f in case.facts}


def expected_decision(item: Interview, step: str) -> str | None:
    if not item.labels or step not in item.labels[0].steps:
        return None
    return "followup" if item.labels[0].steps[step] <= 2 else "advance"


def step_label(item: Interview, step: str) -> int | None:
    if not item.labels or step not in item.labels[0].steps:
        return None
    return item.labels[0].steps[step]


def recorded_told(item: Interview, case: Case) -> frozenset[str]:
    """The facts the recorded candidate was really told in clarify. The interviewer challenges
    only facts its own clarify did not tell in the replay, so a challenge of one of these
    (``false_challenges``) means the replay's clarify answered the recorded question
    differently from the recording's interviewer, after which the recorded answer quotes what
    it was told then. The dataset's own label (``meta.revealed``, the fact ids
    the recorded clarify replies gave, written with the interview) when it has one; otherwise
    read from the recorded interviewer's lines (agent.semantic.facts.revealed), which can
    over-read: a fact whose words are mostly common ones, or whose figures are half a duration
    another fact shares ("six months"), reads as told when it was not."""
    labelled = (item.meta or {}).get("revealed")
    if isinstance(labelled, list) and all(isinstance(f, str) for f in labelled):
        return frozenset(labelled)
    return revealed(case, [t.text for t in item.turns
                           if t.role == "interviewer" and t.step == "clarify"])


def reactions(item: Interview, case: Case, state: Any, signals: dict[str, list[str]]
              ) -> list[dict[str, Any]]:
    """Per answered step (2-6): the follow-up kinds asked, the human label, the profile, whether
    the recording says the step used facts never told, and every rubric phrase a follow-up
    named that the candidate had not said in that step."""
    profile = (item.meta or {}).get("profile") or {}
    unasked = {u.get("step") for u in (item.meta or {}).get("unasked", [])
               if isinstance(u, dict)}
    # steps the dataset labels as stating figures nobody gave, as how things are
    nobodys = {u.get("step") for u in [*(item.meta or {}).get("invented", []),
                                       *(w for w in (item.meta or {}).get("wrong", [])
                                         if isinstance(w, dict)
                                         and w.get("contradicts") == "invented")]
               if isinstance(u, dict)}
    kinds: dict[str, list[str]] = {}
    challenged: dict[str, list[str]] = {}
    for r in state.get("reactions", []):
        kinds.setdefault(r["step"], []).append(r["kind"])
        if r.get("fact"):
            challenged.setdefault(r["step"], []).append(r["fact"])
    told = recorded_told(item, case)
    out = []
    for step in STEPS[1:]:
        said = " ".join(item.answers(step))
        if not said.strip():
            continue
        probes = [t["text"] for t in state.get("turns", [])
                  if t["step"] == step and t["kind"] == "followup"]
        named: dict[str, list[str]] = {}
        for kind, text in zip(kinds.get(step, []), probes, strict=False):
            hits = sorted({p for p in signals.get(step, [])
                           if first_match([p], text) and not first_match([p], said)})
            if hits:
                named.setdefault("authored" if kind == "gap" else "reacting", []).extend(hits)
        made = [a.split(":", 2)[2] for a in state.get("probed", {}).get(step, [])
                if a.startswith("invented:")]
        out.append({"step": step, "kinds": kinds.get(step, []), "label": step_label(item, step),
                    "invented": made, "nobodys": step in nobodys,
                    "profile": profile.get(step) if isinstance(profile, dict) else None,
                    "unasked": step in unasked, "rubric_phrases": named,
                    "challenged": challenged.get(step, []),
                    "false_challenges": [f for f in challenged.get(step, []) if f in told]})
    return out


def rubric_signal_phrases(rubrics: RubricSet) -> dict[str, list[str]]:
    """Per step, the rubric's plain signal phrases of two words or more (what the offline
    scorer looks for; single words like "cost" are everyday words)."""
    return {step: sorted({p for c in r.criteria for g in c.signals for p in g
                          if not p.startswith(("re:", "~")) and len(p.split()) >= 2})
            for step, r in rubrics.rubrics.items()}


def followup_figures(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Strong steps (labelled 3-4, or profile strong) that got a deepen or challenge; weak
    steps (labelled 1-2) that got a gap probe; steps using facts never told that got a
    challenge; follow-ups naming a rubric phrase the candidate had not said."""
    steps = [r for i in items for r in i["reactions"]]
    strong = [r for r in steps if (r["label"] or 0) >= 3 and not r["unasked"]]
    weak = [r for r in steps if r["label"] is not None and r["label"] <= 2 and not r["unasked"]]
    unasked = [r for r in steps if r["unasked"]]
    nobodys = [r for r in steps if r.get("nobodys")]

    def share(rows: list[dict[str, Any]], kinds: set[str]) -> float | None:
        return round(sum(1 for r in rows if kinds & set(r["kinds"])) / len(rows), 3) \
            if rows else None

    named = [dict(r, item=i["id"]) for i in items for r in i["reactions"]
             if r["rubric_phrases"].get("reacting")]
    authored = sum(1 for r in steps if r["rubric_phrases"].get("authored"))
    return {"strong_steps": len(strong), "strong_deepen_or_challenge":
            share(strong, {"deepen", "challenge"}),
            "weak_steps": len(weak), "weak_gap_probe": share(weak, {"gap"}),
            "unasked_steps": len(unasked), "unasked_challenged": share(unasked, {"challenge"}),
            "untold_challenges": sum(len(r.get("challenged", [])) for r in steps),
            "false_challenges": sum(len(r.get("false_challenges", [])) for r in steps),
            "invented_challenges": sum(len(r.get("invented", [])) for r in steps),
            "invented_steps": len(nobodys),
            "invented_challenged": share(nobodys, {"challenge"}),
            "invented_examples": [{"item": i["id"], "step": r["step"], "said": said[:160]}
                                  for i in items for r in i["reactions"]
                                  for said in r.get("invented", [])][:50],
            "probes_naming_rubric_phrases": len(named),
            "gap_probes_naming_rubric_phrases": authored,
            "examples": [{"item": r["item"], "step": r["step"],
                          "phrases": r["rubric_phrases"]["reacting"]} for r in named[:10]],
            "kinds": {k: sum(r["kinds"].count(k) for r in steps)
                      for k in ("gap", "deepen", "challenge")}}


def assumption_figures(items: list[dict[str, Any]]) -> dict[str, Any]:
    """How the interviewer met the assumptions stated as clarify ends: corrected with the
    sheet's fact, questioned (a clue), a figure nobody gave challenged; and of the interviews
    the dataset labels as assuming something the sheet contradicts, how many got any of these
    (only figures are read: most labelled ones contradict in words)."""
    rows = [i.get("assumptions") or {} for i in items]
    reacted = [r for r in rows if r.get("reacted")]
    labelled = [r for r in rows if r.get("labelled_wrong")]
    return {"interviews": len(rows), "reacted": len(reacted),
            "kinds": {k: sum(r["reacted"].count(k) for r in reacted)
                      for k in ("corrected", "assumed", "invented")},
            "labelled_wrong": len(labelled),
            "labelled_wrong_reacted": sum(1 for r in labelled if r.get("reacted"))}


def replay(item: Interview, case: Case, interviewer: Interviewer,
           rubric_text: set[str], rubric_signals: dict[str, list[str]] | None = None
           ) -> dict[str, Any]:
    answers: dict[str, list[str]] = {step: item.answers(step) for step in STEPS}

    def candidate(step: str, question: str, n: int) -> str | None:
        given = answers.get(step, [])
        return given[n] if n < len(given) else None

    driven = drive(case, interviewer, candidate)
    facts = fact_shingles(case)
    leaks: list[dict[str, str]] = []
    first: dict[str, str] = {}
    step_kinds: dict[str, list[str]] = {}
    for r in driven.state.get("reactions", []):
        step_kinds.setdefault(r["step"], []).append(r["kind"])
    for d in driven.decisions:
        if d.step not in first and d.answer not in ("/next", "/skip"):
            # A gap probe is the follow-up the labels speak of; a deepen or a challenge after
            # a good answer is not a sign it fell short.
            gap = d.kind == "followup" and step_kinds.get(d.step, [""])[0] == "gap"
            first[d.step] = ("clarify" if d.step == "clarify" else
                             "followup" if gap else "advance")
        if shingles(d.said) & rubric_text:
            leaks.append({"kind": "rubric", "step": d.step, "said": d.said[:200]})
        if d.step == "clarify" and d.kind == "fact":
            revealed = {fid for fid, sh in facts.items() if sh and len(sh & shingles(d.said))
                        >= max(1, len(sh) // 2)}
            asked = bool(question_parts(d.answer))
            extra = revealed - set(d.facts_told)
            if extra or (revealed and not asked):
                leaks.append({"kind": "fact", "step": d.step,
                              "facts": ", ".join(sorted(extra or revealed)),
                              "answer": d.answer[:160], "said": d.said[:200]})
    reacts = reactions(item, case, driven.state, rubric_signals or {})
    # the assumptions stated as clarify ends: corrected, questioned or challenged, or accepted
    assumed = {"reacted": [a.split(":", 1)[0] for a in
                           driven.state.get("probed", {}).get("clarify", [])],
               "labelled_wrong": any(isinstance(w, dict) and w.get("step") == "clarify"
                                     for w in (item.meta or {}).get("wrong", []))}
    checks = []
    for step, kind in first.items():
        want = expected_decision(item, step)
        if step != "clarify" and want is not None:
            checks.append({"step": step, "expected": want, "got": kind})
    return {"id": item.id, "case": item.case, "completed":
            driven.state.get("status") == "completed", "decisions": checks, "leaks": leaks,
            "turns": len(driven.state.get("turns", [])), "reactions": reacts,
            "assumptions": assumed}


def run_behaviour(dataset: Dataset, interviewer: Interviewer,
                  rubrics: RubricSet | None = None,
                  advance: Callable[[], None] | None = None, *, clarify_bank: bool = True
                  ) -> dict[str, Any]:
    """``advance`` is called after each interview (progress)."""
    rubrics = rubrics or default_rubrics()
    cases = default_cases()
    text = rubric_shingles(rubrics)
    signals = rubric_signal_phrases(rubrics)
    items = []
    for i in dataset.interviews:
        items.append(replay(i, cases[i.case], interviewer, text, signals))
        if advance is not None:
            advance()
    decisions = [d for i in items for d in i["decisions"]]
    confusion: dict[str, dict[str, int]] = {"followup": {"followup": 0, "advance": 0},
                                            "advance": {"followup": 0, "advance": 0}}
    for d in decisions:
        if d["got"] in ("followup", "advance"):
            confusion[d["expected"]][d["got"]] += 1
    agree = sum(confusion[k][k] for k in confusion)
    total = sum(sum(v.values()) for v in confusion.values())
    leaks = [dict(leak, item=i["id"]) for i in items for leak in i["leaks"]]
    return {
        "dataset": dataset.name, "interviewer": interviewer.engine, "items": len(items),
        "completed": sum(1 for i in items if i["completed"]),
        "followup_decisions": {"confusion (expected -> got)": confusion, "agreement":
                               round(agree / total, 3) if total else None, "n": total},
        "rubric_leaks": sum(1 for leak in leaks if leak["kind"] == "rubric"),
        "fact_leaks": sum(1 for leak in leaks if leak["kind"] == "fact"),
        "leaks": leaks[:50],
        "followups": followup_figures(items),
        "assumptions": assumption_figures(items),
        **({"clarify": measure(interviewer)} if clarify_bank else {}),
    }


def to_markdown(summary: dict[str, Any]) -> str:
    fd = summary["followup_decisions"]
    c = fd["confusion (expected -> got)"]
    lines = [f"# Interviewer behaviour — {summary['dataset']} ({summary['interviewer']})", "",
             f"{summary['items']} recorded interviews replayed; {summary['completed']} reached "
             "the end.", "",
             "## Follow-up vs advance after a step's first answer", "",
             "| human label says | follow-up | advance |", "|---|---:|---:|",
             f"| follow up (step labelled 1-2) | {c['followup']['followup']} | "
             f"{c['followup']['advance']} |",
             f"| move on (step labelled 3-4) | {c['advance']['followup']} | "
             f"{c['advance']['advance']} |", "",
             f"Agreement: {fd['agreement']} over {fd['n']} decisions.", "",
             "## Leaks", "",
             f"- rubric text shown to the candidate: {summary['rubric_leaks']}",
             f"- facts revealed without being asked: {summary['fact_leaks']}"]
    for leak in summary["leaks"][:10]:
        lines.append(f"  - {leak['item']} {leak['step']} ({leak['kind']}): {leak['said'][:120]}")
    f = summary.get("followups")
    if f:
        def pct(v: float | None) -> str:
            return "—" if v is None else f"{v:.0%}"

        lines += ["", "## Follow-ups that react", "",
                  f"- strong steps (labelled 3-4) given a deepen or challenge: "
                  f"{pct(f['strong_deepen_or_challenge'])} of {f['strong_steps']}",
                  f"- weak steps (labelled 1-2) given a gap probe: {pct(f['weak_gap_probe'])} "
                  f"of {f['weak_steps']}",
                  f"- steps using facts never told, challenged: {pct(f['unasked_challenged'])} "
                  f"of {f['unasked_steps']}",
                  f"- challenges of a fact as never told: {f.get('untold_challenges', 0)}, of "
                  f"which the recording's interviewer had told it but this replay's clarify "
                  f"had not: {f.get('false_challenges', 0)} (the replay answered the recorded "
                  f"questions differently; the interviewer challenges only what it did not "
                  f"tell)",
                  f"- challenges of a figure nobody gave, stated as how things are: "
                  f"{f.get('invented_challenges', 0)}; steps the dataset labels as stating "
                  f"one, challenged: {pct(f.get('invented_challenged'))} of "
                  f"{f.get('invented_steps', 0)}",
                  f"- deepen/challenge follow-ups naming a rubric phrase the candidate had not "
                  f"said: {f['probes_naming_rubric_phrases']} (the rubric's authored gap "
                  f"probes: {f['gap_probes_naming_rubric_phrases']} steps)",
                  "- follow-ups asked: " + ", ".join(f"{k} {n}" for k, n in f["kinds"].items())]
        for e in f["examples"][:5]:
            lines.append(f"  - {e['item']} {e['step']}: {', '.join(e['phrases'][:5])}")
    a = summary.get("assumptions")
    if a:
        lines += ["", "## Assumptions stated as clarify ends", "",
                  f"- not just accepted in {a['reacted']} of {a['interviews']} interviews: "
                  + ", ".join(f"{k} {n}" for k, n in a["kinds"].items()),
                  f"- interviews the dataset labels as assuming what the sheet contradicts: "
                  f"{a['labelled_wrong_reacted']} of {a['labelled_wrong']} not just accepted "
                  f"(a figure the sheet contradicts, or in words what a fact denies)"]
    text = "\n".join(lines) + "\n"
    if "clarify" in summary:
        text += "\n" + clarify_markdown(summary["clarify"])
    return text


def count_leaks(summaries: Iterable[dict[str, Any]]) -> int:
    return sum(s["rubric_leaks"] + s["fact_leaks"] for s in summaries)
