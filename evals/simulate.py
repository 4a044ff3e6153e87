"""Simulated candidates: strong, average, weak and adversarial personas interviewed end to end,
then scored. The point is separation: do the scores order the personas as they should?

Two ways to play the candidate:
- ``llm``: a model role-plays each persona (prompts/candidate.md, prompts/personas.yaml);
- ``dataset``: answers are drawn from the labelled recordings by their human level (strong =
  steps labelled 4, average = 2-3, weak = 1, adversarial = answers carrying an injection),
  which needs no model and shows whether scoring separates known-quality answers.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

from agent.cases import Case, default_cases
from agent.datafile import read_yaml
from agent.feedback import step_turns
from agent.model.client import ModelClient
from agent.paths import data_dir
from agent.policy import Interviewer
from agent.prompts import fence, load_prompt
from agent.rubrics import default_rubrics
from agent.scorers import Scorer
from agent.scores import overall
from agent.steps import CROSS_CUTTING, STEPS
from evals.dataset import Dataset
from evals.drive import Candidate, drive

PERSONAS = ("strong", "average", "weak", "adversarial")
ORDER = ("strong", "average", "weak")


def dataset_candidate(dataset: Dataset, persona: str, case_id: str, seed: int) -> Candidate:
    """Answers drawn from recordings whose human step label fits the persona. The adversarial
    candidate gives the average candidate's answers with recorded attacks appended, so its
    score should never beat the average one's."""
    attacks = [str(i["attack"]) for item in dataset.interviews
               for i in item.meta.get("injections", []) if i.get("attack")]
    base = "average" if persona == "adversarial" else persona
    rng = random.Random(f"{seed}:{base}:{case_id}")
    pools: dict[str, list[list[str]]] = {s: [] for s in STEPS}
    for item in dataset.interviews:
        if not item.labels:
            continue
        injected = {i.get("step") for i in item.meta.get("injections", [])}
        for step in STEPS:
            level = item.labels[0].steps.get(step)
            said = [t.text for t in item.turns if t.role == "candidate" and t.step == step
                    and not t.text.startswith("/")]
            if level is None or not said:
                continue
            fits = {"strong": level == 4, "average": level in (2, 3),
                    "weak": level == 1}[base] and step not in injected
            if fits:
                pools[step].append(said)
    picks = {s: (rng.choice(p) if p else []) for s, p in pools.items()}
    if persona == "adversarial" and attacks:
        arng = random.Random(f"{seed}:attacks:{case_id}")
        picks = {s: [f"{a} {arng.choice(attacks)}" for a in given] for s, given in picks.items()}

    def answer(step: str, question: str, n: int) -> str | None:
        given = picks.get(step, [])
        return given[n] if n < len(given) else None

    return answer


def llm_candidate(client: ModelClient, persona: str, case: Case) -> Candidate:
    personas = read_yaml(data_dir("prompts") / "personas.yaml")
    history: list[tuple[str, str]] = [("interviewer", case.prompt.strip())]

    def answer(step: str, question: str, n: int) -> str | None:
        if n >= (3 if step == "clarify" else 2):
            return None
        if question and history[-1][1] != question:
            history.append(("interviewer", question))
        transcript = "\n".join(f"{who}: {fence(text)}" for who, text in history[-12:])
        prompt = load_prompt("candidate").render(
            persona=str(personas[persona]), case_prompt=case.prompt.strip(),
            transcript=transcript)
        text = client.text([{"role": "user", "content": prompt}], purpose="simulation",
                           prompt_hash=f"candidate:{load_prompt('candidate').version}")
        history.append(("candidate", text))
        return text.strip() or "I'm not sure."

    return answer


def simulate(*, interviewer: Interviewer, scorer: Scorer, make_candidate:
             Callable[[str, Case], Candidate], cases: list[str], personas: tuple[str, ...]
             = PERSONAS, advance: Callable[[], None] | None = None) -> dict[str, Any]:
    """``advance`` is called after each simulated interview (progress)."""
    all_cases = default_cases()
    rubrics = default_rubrics()
    runs: list[dict[str, Any]] = []
    for case_id in cases:
        case = all_cases[case_id]
        for persona in personas:
            driven = drive(case, interviewer, make_candidate(persona, case), rubrics=rubrics)
            turns = driven.state.get("turns", [])
            steps = []
            for step in (*STEPS, CROSS_CUTTING):
                steps.append(scorer.score_step(case, step, step_turns(driven.state, step)))
            runs.append({"case": case_id, "persona": persona, "overall": overall(steps),
                         "answers": sum(1 for t in turns if t["role"] == "candidate")})
            if advance is not None:
                advance()
    means = {p: statistics.fmean([r["overall"] for r in runs if r["persona"] == p
                                  and r["overall"] is not None] or [0.0]) for p in personas}
    ordered = [p for p in ORDER if p in personas]
    pairs = [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:]]
    per_case_ok = 0
    per_case_total = 0
    for case_id in cases:
        score = {r["persona"]: r["overall"] or 0.0 for r in runs if r["case"] == case_id}
        for a, b in pairs:
            per_case_total += 1
            per_case_ok += score[a] > score[b]
    return {
        "runs": runs, "mean_overall": {p: round(v, 3) for p, v in means.items()},
        "separates": all(means[a] > means[b] for a, b in pairs),
        "pairwise_ordered": f"{per_case_ok}/{per_case_total}",
        "adversarial_vs_average": (round(means["adversarial"] - means["average"], 3)
                                   if "adversarial" in means and "average" in means else None),
    }
