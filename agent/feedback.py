"""Scoring a session: finished steps are scored in the background while the interview goes on;
the report waits only for what has not finished. Coach mode's feedback and hints live here too.

A step the interview has moved past without an answer (``/skip``, or ``/next`` before answering)
is *skipped*: every criterion scores 1 and it counts in the overall. Only steps not reached yet
in an unfinished interview are left out.

Scores are stored per (step, scorer, version). A later report reuses them: the current scorer's
own score for the same transcript first, then any LLM judge's (a verdict costs a model call and
is the session's own); only what has neither is scored now, unless a re-score is asked for.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from agent.cases import Case
from agent.model.client import ModelClient, ModelError
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


def scored_steps(state: InterviewState) -> list[str]:
    """What a session is scored on: the six steps and cross_cutting, or a drill's one step."""
    drill = state.get("drill")
    return [drill] if drill else list(SCORED)


def finished_steps(state: InterviewState) -> list[str]:
    """Steps the interview has moved past (all of them, plus cross_cutting, once complete)."""
    current = state.get("step", "clarify")
    if state.get("drill"):
        done = current == "wrap_up" or state.get("status") == "completed"
        return scored_steps(state) if done else []
    if current == "wrap_up" or state.get("status") == "completed":
        return list(SCORED)
    return list(STEPS[: STEPS.index(current)]) if current in STEPS else []


#: Words that say nothing about an answer's content, left out when matching a note's key words.
_STOP_WORDS = """
about above across after again against also among and any are around asks because been before
being between both but can could does doing down during each either else even every first for
from further gives has have having here how into its itself just like look makes more most much
must names not now off once only other our out over own rather same says should since some such
than that the their them then there these they this those through too under until upon very was
way were what when where whether which while who why will with within without would your
"""
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")
#: A strong-answer note counts as already said when this share of its key words was said.
NOTE_COVERED = 0.6


def _key_words(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOP
                              and (len(w) >= 4 or any(ch.isdigit() for ch in w))))


def note_said(note: str, answers: list[str]) -> bool:
    """True when most of a strong-answer note's key words appear in the answers (a word
    matches on its first five letters, so "replica" matches "replicas")."""
    keys = _key_words(note)
    if not keys:
        return False
    said = {w[:5] for w in _WORD.findall(" ".join(answers).lower())}
    return sum(1 for k in keys if k[:5] in said) / len(keys) >= NOTE_COVERED


def relevant_notes(score: StepScore, answers: list[str]) -> list[str]:
    """The case's strong-answer notes worth showing: none when every criterion is solid
    (level 3+); otherwise the notes whose key words the candidate has not already said."""
    if score.criteria and all((c.level or 0) >= 3 for c in score.criteria):
        return []
    return [n for n in score.strong_answer if not note_said(n, answers)]


def judge_model(version: str) -> tuple[str | None, str | None]:
    """(model, judge prompt versions) from an LLM score's version string, else (None, None)."""
    if not version.startswith("llm:") or ":judge_system:" not in version:
        return None, None
    model, rest = version[4:].split(":judge_system:", 1)
    prompts = "judge_system:" + rest.split(":rubric=", 1)[0]
    return model, prompts


class SessionScoring:
    """Scores for one session, kept in the store so a later report reuses them."""

    def __init__(self, store: Store, scorer: Scorer, case: Case, session_id: str,
                 rubrics: RubricSet | None = None, workers: int = 2) -> None:
        self.store, self.scorer, self.case, self.sid = store, scorer, case, session_id
        self.rubrics = rubrics or default_rubrics()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scoring")
        self._futures: dict[tuple[str, str], Future[StepScore]] = {}
        self._lock = threading.Lock()
        #: How each step's last result was obtained: "stored", "scored" (now) or "special".
        self.source: dict[str, str] = {}

    def close(self) -> None:
        """Stop: scores not started yet are dropped (a later report computes them)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _key(self, step: str, turns: Turns) -> str:
        return f"{self.scorer.version(step)}:transcript={transcript_hash(turns)}"

    def _special(self, state: InterviewState, step: str,
                 finishing: bool = False) -> StepScore | None:
        """Skipped and not-yet-reached steps need no scorer. ``finishing``: the step is being
        left right now (coach feedback runs before the state moves on)."""
        rubric = self.rubrics[step]
        said = [text for role, text in step_turns(state, step) if role == "candidate"]
        moved_past = finishing or step in finished_steps(state)
        if step in state.get("skipped", []) or (moved_past and not said):
            how = ("the candidate skipped it with /skip" if step in state.get("skipped", [])
                   else "the interview moved on before any answer"
                   if step != CROSS_CUTTING else "no question was answered")
            criteria = [CriterionScore(
                id=c.id, name=c.name, weight=c.weight, level=1,
                rationale=f"No answer: {how}, so this scores 1 (missing).",
                evidence=[], unverified_quotes=0, flagged=False, missed=c.levels[3])
                for c in rubric.criteria]
            return StepScore(step=step, score=1.0, weight=rubric.weight, status="skipped",
                             scorer=self.scorer.name, version="skipped", criteria=criteria,
                             strong_answer=strong_notes(self.case, step))
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

    def stored(self, step: str, turns: Turns) -> StepScore | None:
        """A stored score for exactly this transcript and rubric: the current scorer's own,
        else the newest LLM judge's (whichever model judged it)."""
        key = self._key(step, turns)
        own = self.store.get_score(self.sid, step, self.scorer.name, key)
        if own is not None:
            return StepScore.model_validate(own)
        tail = f":rubric={self.rubrics.hashes[step]}:transcript={transcript_hash(turns)}"
        for scorer, version, result in self.store.scores_for(self.sid, step):
            if scorer == "llm" and version.endswith(tail):
                return StepScore.model_validate(result)
        return None

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
                if self.stored(step, turns) is not None:
                    continue
                self._futures[(step, key)] = self._pool.submit(self._score, step, turns, key)

    def result(self, state: InterviewState, step: str, *, rescore: bool = False,
               finishing: bool = False) -> StepScore:
        """The step's score: stored, pending (waited for), or computed now. ``rescore``
        ignores stored scores and scores again with the current scorer."""
        special = self._special(state, step, finishing)
        if special is not None:
            self.source[step] = "special"
            return special.model_copy(update={
                "strong_answer": relevant_notes(special, [])})
        turns = step_turns(state, step)
        said = [text for role, text in turns if role == "candidate"]
        key = self._key(step, turns)
        with self._lock:
            future = None if rescore else self._futures.get((step, key))
        stored = None if rescore or future is not None else self.stored(step, turns)
        try:
            if future is not None:
                score, self.source[step] = future.result(), "scored"
            elif stored is not None:
                score, self.source[step] = stored, "stored"
            else:
                score, self.source[step] = self._score(step, turns, key), "scored"
        except ModelError as e:
            self.source[step] = "scored"
            score = self._unscored(step, key, str(e))
        update: dict[str, object] = {"strong_answer": relevant_notes(score, said)}
        if not finishing and step not in finished_steps(state):
            update["status"] = "in_progress"
        return score.model_copy(update=update)

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
                    progress: Callable[[str], None] | None = None, *,
                    rescore: bool = False) -> list[StepScore]:
        if not rescore:
            self.submit(state)
        out = []
        for step in scored_steps(state):
            if progress:
                progress(step)
            out.append(self.result(state, step, rescore=rescore))
        return out

    # -- coach mode ---------------------------------------------------------------------------

    def coach(self, state: InterviewState, step: str) -> str:
        """Brief feedback on a step just finished, and what a strong answer would add."""
        title = TITLES[step]
        score = self.result(state, step, finishing=True)
        extra = (f" A strong answer would also: {score.strong_answer[0]}"
                 if score.strong_answer else "")
        if score.status == "skipped":
            return (f"{title}: no answer, so this step scores 1 / 4. Even a rough first answer "
                    f"earns more than none.{extra}")
        if score.score is None:
            why = next((c.rationale for c in score.criteria if c.level is None), "")
            why = why.removeprefix("Unscored: ").strip()
            why = f" ({why[:120]})" if why else ""
            return (f"{title}: no feedback yet: your answers could not be scored right "
                    f"now{why}. The report at the end tries again.")
        scored = [c for c in score.criteria if c.level is not None]
        best = max(scored, key=lambda c: (c.level or 0, c.weight))
        worst = min(scored, key=lambda c: (c.level or 0, -c.weight))
        lines = [f"{title}: {score.score:.1f} / 4."]
        if (best.level or 0) >= 3:
            lines.append(f"Strongest: {best.name.lower()}.")
        if (worst.level or 4) < 4:
            lines.append(f"To improve: {worst.name.lower()} — {worst.missed or ''}".rstrip(" —"))
        return " ".join(lines) + extra

    def hint(self, state: InterviewState, step: str) -> str:
        """A nudge toward a gap: the interviewer's probe question for it, which names no rubric
        content. Each /hint in a step moves on to the next unmet criterion (most important
        first), preferring ones not already asked about as a follow-up."""
        if step not in STEPS:
            return "No hint here."
        rubric = self.rubrics[step]
        said = answers_in(state, step)
        gaps = sorted((c for c in rubric.criteria if status_for(c, said)[1] != "met"),
                      key=lambda c: -c.weight)
        if not gaps:
            return "Hint: you've covered the main ground; tighten it into a clear summary."
        given = [t["text"] for t in state.get("turns", [])
                 if t["kind"] == "hint" and t["step"] == step]
        fresh = [c for c in gaps if not any(c.probe in g for g in given)]
        if not fresh:
            return ("Hint: that was the last hint for this step. Answer in your own words, "
                    "or /next to move on.")
        probed = state.get("probed", {}).get(step, [])
        target = next((c for c in fresh if c.id not in probed), fresh[0])
        return f"Hint: {target.probe}"
