"""Scoring a session: finished steps are scored in the background while the interview goes on;
the report waits only for what has not finished. Coach mode's feedback and hints live here too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from agent.cases import Case
from agent.llm import ModelClient, ModelError
from agent.offline import status_for
from agent.rubrics import RubricSet, default_rubrics
from agent.scorers import OfflineScorer, Scorer, Turns, strong_notes, transcript_hash
from agent.scores import CriterionScore, StepScore
from agent.state import InterviewState, answers_in
from agent.steps import CROSS_CUTTING, STEPS, TITLES
from agent.store import Store

SCORED = (*STEPS, CROSS_CUTTING)


def make_scorer(client: ModelClient | None, rubrics: RubricSet | None = None,
                session_id: str | None = None) -> Scorer:
    if client is None:
        return OfflineScorer(rubrics)
    from agent.judge import LLMJudge

    return LLMJudge(client, rubrics, session_id=session_id)


def step_turns(state: InterviewState, step: str) -> Turns:
    """The (role, text) turns of one step; the whole interview for cross_cutting."""
    return [(t["role"], t["text"]) for t in state.get("turns", [])
            if t["kind"] != "command" and t["kind"] != "coach"
            and (t["step"] == step or (step == CROSS_CUTTING and t["step"] in STEPS))]


def finished_steps(state: InterviewState) -> list[str]:
    """Steps the interview has moved past (all of them, plus cross_cutting, once complete)."""
    current = state.get("step", "clarify")
    if current == "wrap_up" or state.get("status") == "completed":
        return list(SCORED)
    return list(STEPS[: STEPS.index(current)]) if current in STEPS else []


class SessionScoring:
    """Scores for one session, kept in the store so a later report reuses them."""

    def __init__(self, store: Store, scorer: Scorer, case: Case, session_id: str,
                 rubrics: RubricSet | None = None, workers: int = 2) -> None:
        self.store, self.scorer, self.case, self.sid = store, scorer, case, session_id
        self.rubrics = rubrics or default_rubrics()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scoring")
        self._futures: dict[tuple[str, str], Future[StepScore]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop: scores not started yet are dropped (a later report computes them)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _key(self, step: str, turns: Turns) -> str:
        return f"{self.scorer.version(step)}:transcript={transcript_hash(turns)}"

    def _special(self, state: InterviewState, step: str) -> StepScore | None:
        """Skipped and not-yet-reached steps need no scorer."""
        rubric = self.rubrics[step]
        if step in state.get("skipped", []):
            criteria = [CriterionScore(
                id=c.id, name=c.name, weight=c.weight, level=1,
                rationale="Skipped: the candidate moved on without answering this step.",
                evidence=[], unverified_quotes=0, flagged=False, missed=c.levels[2])
                for c in rubric.criteria]
            return StepScore(step=step, score=1.0, weight=rubric.weight, status="skipped",
                             scorer=self.scorer.name, version="skipped", criteria=criteria,
                             strong_answer=strong_notes(self.case, step))
        said = [text for role, text in step_turns(state, step) if role == "candidate"]
        if not said:
            return StepScore(step=step, score=None, weight=rubric.weight, status="not_reached",
                             scorer=self.scorer.name, version="not_reached", criteria=[],
                             strong_answer=strong_notes(self.case, step))
        return None

    def _score(self, step: str, turns: Turns, key: str) -> StepScore:
        result = self.scorer.score_step(self.case, step, turns)
        if result.unscored < len(result.criteria):
            self.store.put_score(self.sid, step, self.scorer.name, key, result.model_dump())
        return result

    def submit(self, state: InterviewState) -> None:
        """Start scoring every finished step that has no stored or pending score."""
        for step in finished_steps(state):
            if self._special(state, step) is not None:
                continue
            turns = step_turns(state, step)
            key = self._key(step, turns)
            with self._lock:
                if (step, key) in self._futures:
                    continue
                if self.store.get_score(self.sid, step, self.scorer.name, key) is not None:
                    continue
                self._futures[(step, key)] = self._pool.submit(self._score, step, turns, key)

    def result(self, state: InterviewState, step: str) -> StepScore:
        """The step's score: stored, pending (waited for), or computed now."""
        special = self._special(state, step)
        if special is not None:
            return special
        turns = step_turns(state, step)
        key = self._key(step, turns)
        with self._lock:
            future = self._futures.get((step, key))
        if future is not None:
            try:
                score = future.result()
            except ModelError as e:
                return self._unscored(step, key, str(e))
        else:
            stored = self.store.get_score(self.sid, step, self.scorer.name, key)
            if stored is not None:
                score = StepScore.model_validate(stored)
            else:
                try:
                    score = self._score(step, turns, key)
                except ModelError as e:
                    return self._unscored(step, key, str(e))
        in_progress = step not in finished_steps(state)
        return score.model_copy(update={"status": "in_progress"}) if in_progress else score

    def _unscored(self, step: str, key: str, why: str) -> StepScore:
        rubric = self.rubrics[step]
        criteria = [CriterionScore(id=c.id, name=c.name, weight=c.weight, level=None,
                                   rationale=f"Unscored: {why}", evidence=[],
                                   unverified_quotes=0, flagged=False)
                    for c in rubric.criteria]
        return StepScore(step=step, score=None, weight=rubric.weight, scorer=self.scorer.name,
                         version=key, criteria=criteria,
                         strong_answer=strong_notes(self.case, step))

    def all_results(self, state: InterviewState,
                    progress: Callable[[str], None] | None = None) -> list[StepScore]:
        self.submit(state)
        out = []
        for step in SCORED:
            if progress:
                progress(step)
            out.append(self.result(state, step))
        return out

    # -- coach mode ---------------------------------------------------------------------------

    def coach(self, state: InterviewState, step: str) -> str:
        """Brief feedback on a step just finished, and what a strong answer would add."""
        score = self.result(state, step)
        if score.score is None:
            return f"Feedback on {TITLES[step].lower()}: not available ({score.status})."
        scored = [c for c in score.criteria if c.level is not None]
        best = max(scored, key=lambda c: (c.level or 0, c.weight))
        worst = min(scored, key=lambda c: (c.level or 0, -c.weight))
        lines = [f"{TITLES[step]}: {score.score:.1f} / 4."]
        if (best.level or 0) >= 3:
            lines.append(f"Strongest: {best.name.lower()}.")
        if (worst.level or 4) < 4:
            lines.append(f"To improve: {worst.name.lower()} — {worst.missed or ''}".rstrip(" —"))
        if score.strong_answer:
            lines.append(f"A strong answer would also: {score.strong_answer[0]}")
        return " ".join(lines)

    def hint(self, state: InterviewState, step: str) -> str:
        """A nudge toward the most important gap, phrased as a question, never the answer."""
        if step not in STEPS:
            return "No hint here."
        rubric = self.rubrics[step]
        said = answers_in(state, step)
        gaps = [c for c in rubric.criteria if status_for(c, said)[1] != "met"]
        if not gaps:
            return "Hint: you've covered the main ground; tighten it into a clear summary."
        target = max(gaps, key=lambda c: c.weight)
        return f"Hint: think about {target.name.lower()}. {target.probe}"
