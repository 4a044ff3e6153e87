"""Scoring a session: finished steps are scored in the background while the interview goes on;
the report waits only for what has not finished. Coach mode's feedback and hints live here too.

A step the interview has moved past without an answer (``/skip``, or ``/next`` before answering)
is *skipped*: every criterion scores 1 and it counts in the overall. Only steps not reached yet
in an unfinished interview are left out.

Scores are stored per (step, scorer, version). A later report reuses them: the current scorer's
own score for the same transcript first, then any LLM judge's (a verdict costs a model call and
is the session's own); only what has neither is scored now, unless a re-score is asked for.

When the model judge cannot score a step (its replies stay invalid after the retries, or the
endpoint fails), the step is scored offline by rubric signals and marked so (``fallback``);
the failure is recorded, so a later report (another process) does not blindly ask again;
``--rescore`` does. Background judging runs through the endpoint's scheduler
(agent/model/scheduler.py): it waits while a candidate turn is served, and at most
``max_concurrency`` judge calls are in flight.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress

from agent.cases import Case
from agent.model.client import ModelClient, ModelError
from agent.offline import status_for
from agent.probes.hints import followup_hint, open_followup
from agent.report import Report, ScorerInfo, as_sentence, build_report
from agent.rubrics import RubricSet, default_rubrics
from agent.scorer_common import (
    Scorer,
    Turns,
    applicable,
    case_notes,
    strong_notes,
    transcript_hash,
)
from agent.scorers import OfflineScorer, read_answers
from agent.scores import CriterionScore, StepScore, without_examples
from agent.semantic.facts import Told, told_from
from agent.semantic.matcher import index, similarity
from agent.state import InterviewState, answers_in
from agent.steps import CROSS_CUTTING, STEPS, TITLES
from agent.storage import Storage, StorageUnavailable

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


#: Words that say nothing about an answer, left out when matching a note's key words.
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
#: A part of a note counts as said when this share of its key words was said (affirmed)...
NOTE_COVERED = 0.5
#: ... or when one of the candidate's affirmed clauses means the same (embedding similarity).
NOTE_MATCH = 0.5
#: Where a note splits into separately checkable points.
_NOTE_PARTS = re.compile(r"\s*(?:[;:()]|,\s+(?:and\s+)?|\s+and\s+(?=\w+s?\b)|\s+-\s+)\s*")


def _key_words(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOP
                              and (len(w) >= 4 or any(ch.isdigit() for ch in w))))


def note_parts(note: str) -> list[str]:
    """The points of a strong-answer note ("Confirms batch with a deadline window; asks the
    volume" is two), each at least three words long."""
    parts = [p.strip(" .") for p in _NOTE_PARTS.split(note) if p and p.strip(" .")]
    merged: list[str] = []
    for p in parts:
        if merged and len(p.split()) < 3:
            merged[-1] += " " + p
        else:
            merged.append(p)
    return merged or [note]


def part_spans(note: str) -> list[tuple[int, int]]:
    """Where each of :func:`note_parts` lies in ``note`` (a merged short part's span runs over
    the separator it was cut at), for showing which of a note's points were made."""
    cuts = [(m.start(), m.end()) for m in _NOTE_PARTS.finditer(note)]
    bounds = zip([0, *(e for _, e in cuts)], [*(b for b, _ in cuts), len(note)], strict=True)
    out: list[tuple[int, int]] = []
    for a, b in bounds:
        while a < b and note[a] in " .":
            a += 1
        while b > a and note[b - 1] in " .":
            b -= 1
        if a >= b:
            continue
        if out and len(note[a:b].split()) < 3:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out or [(0, len(note))]


def points_made(note: str, answers: list[str]) -> list[bool]:
    """For each of a strong-answer note's points (:func:`note_parts`), whether the answers make
    it, in any words: when most of its key words were said in affirmed text (a word matches on
    its first five letters, so "replica" matches "replicas"), or when one of the candidate's
    affirmed clauses means the same. A point made only to reject it ("we wouldn't canary it")
    was not made."""
    sents = read_answers(answers)
    said = {w[:5] for s in sents for w in _WORD.findall(s.read.lower())}
    clauses = [p for s in sents if s.claim or s.quantity for p in s.parts]
    parts = note_parts(note)
    sims = index(tuple(parts)).scores(clauses) if clauses else None
    # A point that is itself a denial ("per-request latency doesn't matter") is made by the
    # same denial ("per-request latency is irrelevant", "cost matters, not speed"): read in
    # the answers' full text, negations kept (trial 17: bolded as not found after the latter).
    denials = [i for i, part in enumerate(parts) if _DENIAL.search(part)]
    # each sentence that denies something, as written, with the words it says
    denying = [(text, {w[:5] for w in _WORD.findall(s.full.lower())})
               for s in sents if (s.claim or s.quantity)
               and _DENIAL.search(text := s.full.split(" | ")[0])]
    full_sims = (index(tuple(parts[i] for i in denials)).scores([t for t, _ in denying])
                 if denials and denying else None)
    made = []
    for i, part in enumerate(parts):
        keys = _key_words(part)
        if i in denials:
            # made by a sentence that denies it too: most of what it denies said there, or the
            # sentence close in meaning; a sentence that affirms it never makes it
            keys = [k for k in keys if k not in _NEGATION_WORDS]
            made.append(any(keys and sum(1 for k in keys if k[:5] in words) / len(keys)
                            >= NOTE_COVERED for _, words in denying)
                        or (full_sims is not None and float(
                            full_sims[:, denials.index(i)].max()) >= NOTE_MATCH))
            continue
        covered = bool(keys) and sum(1 for k in keys if k[:5] in said) / len(keys) >= NOTE_COVERED
        # a point naming alternatives ("time to first token, tokens per second per user, or
        # aggregate throughput") is made by one of them said in full (trial 17's "do they mean
        # the wait before the first words show up, or ...?" was told to pin down what "2x
        # faster" means)
        covered = covered or (" or " in part and any(
            len(alt) >= 2 and all(k[:5] in said for k in alt)
            for alt in map(_key_words, _ALTERNATIVES.split(part))))
        made.append(covered or (sims is not None and float(sims[:, i].max()) >= NOTE_MATCH))
    return _either(note, parts, made)


def _either(note: str, parts: list[str], made: list[bool]) -> list[bool]:
    """A note whose points after its lead are alternatives ("Pins down what '2x faster'
    means: time to first token, tokens per second per user, or aggregate throughput") has
    them all made when one of them is."""
    if len(parts) < 3 or not parts[-1].lower().startswith("or "):
        return made
    head, colon, _ = note.partition(":")
    start = len(note_parts(head)) if colon and ";" not in head else 0
    if start >= len(parts) - 1 or not any(made[start:]):
        return made
    return [*made[:start], *([True] * (len(parts) - start))]


#: Where a note's point lists alternatives: "a, b, or c".
_ALTERNATIVES = re.compile(r",\s*(?:or\s+)?|\s+or\s+")


#: A note's point that denies something ("latency doesn't matter", "no new hardware").
_DENIAL = re.compile(r"\b(?:not|no|never|none|nothing|nobody|without|irrelevant)\b|n't\b|n’t\b",
                     re.IGNORECASE)
#: The pieces of a denial that are no key word of what it denies ("doesn't" reads "doesn").
_NEGATION_WORDS = frozenset({"doesn", "isn", "aren", "wasn", "weren", "don", "didn", "won",
                             "wouldn", "shouldn", "can", "cannot", "never", "none", "nothing",
                             "without", "matter", "matters"})


def not_made(note: str, answers: list[str]) -> list[str]:
    """The words of ``note`` (each a point of three words or more, as written in it) that the
    answers do not make, when they make some of its points and not all; [] otherwise (the
    whole note is shown as missed, or none of it)."""
    made = points_made(note, answers)
    spans = part_spans(note)
    if len(spans) != len(made) or all(made) or not any(made):
        return []
    # a label before the points ("0-2 weeks: ...") is no point of its own to have missed
    return [note[a:b] for (a, b), m in zip(spans, made, strict=True)
            if not m and len(note[a:b].split()) >= 3]


def note_said(note: str, answers: list[str]) -> bool:
    """True when the answers already make most of a strong-answer note's points
    (:func:`points_made`)."""
    made = points_made(note, answers)
    parts = note_parts(note)
    hits = sum(made)
    if hits * 2 > len(parts) or (len(parts) == 2 and hits == 2):
        return True
    # "Ties each hypothesis to a measurement: per-phase timings at peak": a lead before a colon
    # says in general words what its content after the colon makes concrete, so the content
    # said makes the note (trial 12: bolded as not found after "I would check per-phase
    # timings at peak first").
    head, colon, _ = note.partition(":")
    if not colon or ";" in head:
        return False
    lead = len(note_parts(head))
    return lead < len(parts) and all(made[lead:])


#: A note this close in meaning to a criterion's name is about that criterion ("States the
#: trade-offs of each" and "Trade-offs of each option", 0.74; the next criterion of the step is
#: under 0.25 for every such note). A note with the case's own content ("Trade-offs: capacity
#: risk on busy nights, ...") is 0.57 or less.
NOTE_IS_CRITERION = 0.65


def made_by_level(note: str, score: StepScore) -> bool:
    """Whether ``note`` only restates a criterion the step met (level 3+): trial 10's report
    bolded "States the trade-offs of each." as not found, right under "Trade-offs of each
    option — 4/4". What a note gives only as an example is no part of what it restates (stop
    38: "Makes a clear choice with reasons, e.g. dedicated pre-warmed pool now, ..." was bolded
    under "A choice with reasons — 4/4")."""
    lead = _EXAMPLE.split(note, maxsplit=1)[0]
    return any((c.level or 0) >= 3 and max(similarity(t, c.name) for t in {note, lead})
               >= NOTE_IS_CRITERION for c in score.criteria)


#: Where a note's example starts: ", e.g. ...", " (e.g. ...", " for example ...".
_EXAMPLE = re.compile(r",?\s*\(?\b(?:e\.g\.|for example|for instance)", re.IGNORECASE)


def relevant_notes(score: StepScore, answers: list[str]) -> list[str]:
    """The case's strong-answer notes worth showing: none when every criterion is solid
    (level 3+); otherwise the notes whose points the candidate has not already made, in words
    (:func:`note_said`) or by meeting the criterion the note restates (:func:`made_by_level`)."""
    if score.criteria and all((c.level or 0) >= 3 for c in score.criteria):
        return []
    return [n for n in score.strong_answer
            if not note_said(n, answers) and not made_by_level(n, score)]


def judge_model(version: str) -> tuple[str | None, str | None]:
    """(model, judge prompt versions) from an LLM score's version string, else (None, None)."""
    if not version.startswith("llm:") or ":judge_system:" not in version:
        return None, None
    model, rest = version[4:].split(":judge_system:", 1)
    prompts = "judge_system:" + rest.split(":rubric=", 1)[0]
    return model, prompts


#: How a judge failure reads in a report (by its kind).
FALLBACK_REASONS = {
    "invalid": "scored offline: the model's replies were invalid",
    "unavailable": "scored offline: the model endpoint failed",
}


class SessionScoring:
    """Scores for one session, kept in the store so a later report reuses them."""

    def __init__(self, store: Storage | None, scorer: Scorer, case: Case, session_id: str,
                 rubrics: RubricSet | None = None, workers: int = 2,
                 pool: Executor | None = None) -> None:
        """``store`` None: scores live only in memory (a served graph's threads). ``pool``: a
        worker pool shared with other sessions (not shut down by close())."""
        self.store, self.scorer, self.case, self.sid = store, scorer, case, session_id
        self.rubrics = rubrics or default_rubrics()
        self._own_pool = pool is None
        #: The judge's model client, when the scorer is a model judge (for its scheduler).
        self.client: ModelClient | None = getattr(scorer, "client", None)
        if self.client is not None:
            workers = max(workers, self.client.settings.max_concurrency)
        self._offline = OfflineScorer(self.rubrics)
        self._pool = pool or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scoring")
        if scorer.name == "offline":  # the model loads, the patterns compile, as they type
            from agent.semantic.claims import prime
            from agent.semantic.model import warm

            warm()
            prime([g for step in self.rubrics.hashes for c in self.rubrics[step].criteria
                   for g in c.signals])
        self._futures: dict[tuple[str, str], Future[StepScore]] = {}
        self._lock = threading.Lock()
        #: Clear while a candidate turn runs (see turn()): background scores wait for it.
        self._open = threading.Event()
        self._open.set()
        #: How each step's last result was obtained: "stored", "scored" (now) or "special".
        self.source: dict[str, str] = {}

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """A candidate turn runs: background scores submitted meanwhile start when it ends.
        Started at once, a scoring thread would take the interpreter from the turn (Python
        runs one thread at a time and switches every few milliseconds), and the candidate
        would wait for a score that nothing in the turn needs. A turn that needs a score (the
        closing report, coach feedback) opens the way itself (see result())."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def close(self) -> None:
        """Stop: scores not started yet are dropped (a later report computes them)."""
        self._open.set()
        if self._own_pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _key(self, step: str, turns: Turns, told: Told | None = None) -> str:
        return f"{self.scorer.version(step)}:transcript={transcript_hash(turns, told)}"

    def _told(self, state: InterviewState, step: str) -> Told | None:
        """What the candidate had been told before ``step`` (facts revealed in clarify, every
        earlier line): the scorers check claims against it."""
        if step not in STEPS or step == STEPS[0]:
            return None
        earlier = STEPS[:STEPS.index(step)]
        turns = [(t["role"], t["text"]) for t in state.get("turns", [])
                 if t["kind"] not in ("command", "coach") and t["step"] in earlier]
        return told_from(self.case, turns, state.get("facts_told", []))

    def _special(self, state: InterviewState, step: str,
                 finishing: bool = False) -> StepScore | None:
        """Skipped and not-yet-reached steps need no scorer. ``finishing``: the step is being
        left right now (coach feedback runs before the state moves on)."""
        rubric = self.rubrics[step]
        said = [text for role, text in step_turns(state, step) if role == "candidate"]
        moved_past = finishing or step in finished_steps(state)
        if step in state.get("skipped", []) or (moved_past and not said):
            how = ("the candidate skipped it" if step in state.get("skipped", [])
                   else "the interview moved on before any answer"
                   if step != CROSS_CUTTING else "no question was answered")
            criteria = [CriterionScore(
                id=c.id, name=c.name, weight=w, level=1,
                rationale=f"No answer: {how}, so this scores 1 (missing).",
                evidence=[], unverified_quotes=0, flagged=False,
                missed=without_examples(c.levels[3]))
                for c, w in applicable(self.case, rubric)]
            return StepScore(step=step, score=1.0, weight=rubric.weight, status="skipped",
                             scorer=self.scorer.name, version="skipped", criteria=criteria,
                             notes=case_notes(self.case, rubric),
                             strong_answer=strong_notes(self.case, step))
        if not said:
            return StepScore(step=step, score=None, weight=rubric.weight, status="not_reached",
                             scorer=self.scorer.name, version="not_reached", criteria=[],
                             strong_answer=strong_notes(self.case, step))
        return None

    def _score(self, step: str, turns: Turns, key: str, told: Told | None = None,
               background: bool = False) -> StepScore:
        """Score a step now. ``background``: as background work, whose judge calls wait for
        candidate turns and take one of the endpoint's ``max_concurrency`` slots."""
        if background and self.client is not None:
            with self.client.scheduler.background():
                return self._score_now(step, turns, key, told)
        return self._score_now(step, turns, key, told)

    def _later(self, step: str, turns: Turns, key: str, told: Told | None) -> StepScore:
        """A background score (submit()): once no candidate turn runs (turn())."""
        self._open.wait()
        return self._score(step, turns, key, told, background=True)

    def _score_now(self, step: str, turns: Turns, key: str, told: Told | None) -> StepScore:
        if self.scorer.name != "llm":
            result = self.scorer.score_step(self.case, step, turns, told)
        else:
            store = self.store
            failed = store.judge_failure(self.sid, step, key) if store is not None else None
            if failed is not None:  # judged before and failed: not asked again unasked
                return self._fallback(step, turns, failed["kind"], told)
            try:
                result = self.scorer.score_step(self.case, step, turns, told)
            except ModelError as e:
                if store is not None:
                    with suppress(StorageUnavailable):  # remembering it is best effort
                        store.put_judge_failure(self.sid, step, key, "unavailable", str(e))
                return self._fallback(step, turns, "unavailable", told)
            if result.criteria and result.unscored == len(result.criteria):
                why = next((c.rationale for c in result.criteria), "")
                if store is not None:
                    with suppress(StorageUnavailable):
                        store.put_judge_failure(self.sid, step, key, "invalid", why)
                return self._fallback(step, turns, "invalid", told)
        if self.store is not None and result.unscored < len(result.criteria):
            # With the database server away the score still stands; a later report redoes it.
            with suppress(StorageUnavailable):
                self.store.put_score(self.sid, step, self.scorer.name, key, result.model_dump())
        return result

    def _fallback(self, step: str, turns: Turns, kind: str, told: Told | None) -> StepScore:
        """The offline scorer's score of a step the judge could not score, marked so (never
        stored as the judge's: a re-score asks the model again)."""
        score = self._offline.score_step(self.case, step, turns, told)
        return score.model_copy(update={"fallback": FALLBACK_REASONS.get(kind, kind)})

    def stored(self, step: str, turns: Turns, told: Told | None = None) -> StepScore | None:
        """A stored score for exactly this transcript and rubric: the current scorer's own,
        else the newest LLM judge's (whichever model judged it)."""
        if self.store is None:
            return None
        key = self._key(step, turns, told)
        own = self.store.get_score(self.sid, step, self.scorer.name, key)
        if own is not None:
            return StepScore.model_validate(own)
        tail = (f":rubric={self.rubrics.hashes[step]}:transcript="
                f"{transcript_hash(turns, told)}")
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
            told = self._told(state, step)
            key = self._key(step, turns, told)
            with self._lock:
                if (step, key) in self._futures:
                    continue
                try:
                    if self.stored(step, turns, told) is not None:
                        continue
                except StorageUnavailable:
                    return  # best effort: with the database away, a later report scores it
                self._futures[(step, key)] = self._pool.submit(self._later, step, turns, key,
                                                               told)

    def ready(self, state: InterviewState, step: str) -> bool:
        """Whether the step's score is there without waiting (stored, finished, or needing
        no scorer)."""
        if self._special(state, step) is not None:
            return True
        turns = step_turns(state, step)
        told = self._told(state, step)
        with self._lock:
            future = self._futures.get((step, self._key(step, turns, told)))
        if future is not None:
            return future.done()
        return self.scorer.name != "llm" or self.stored(step, turns, told) is not None

    def result(self, state: InterviewState, step: str, *, rescore: bool = False,
               finishing: bool = False, background: bool = False) -> StepScore:
        """The step's score: stored, pending (waited for), or computed now. ``rescore``
        ignores stored scores and scores again with the current scorer. ``background``:
        compute as background work (see _score); never while a candidate turn waits on it."""
        special = self._special(state, step, finishing)
        if special is not None:
            self.source[step] = "special"
            return special.model_copy(update={
                "strong_answer": relevant_notes(special, [])})
        turns = step_turns(state, step)
        said = [text for role, text in turns if role == "candidate"]
        told = self._told(state, step)
        key = self._key(step, turns, told)
        with self._lock:
            future = None if rescore else self._futures.get((step, key))
        stored = None if rescore or future is not None else self.stored(step, turns, told)
        try:
            if future is not None:
                # Waited on inside a candidate turn (the closing report): background scoring
                # must be able to run meanwhile (turn(), agent/model/scheduler.py).
                self._open.set()
                with self.client.scheduler.turn_waits() if self.client is not None \
                        else contextlib.nullcontext():
                    score = future.result()
                self.source[step] = "scored"
            elif stored is not None:
                score, self.source[step] = stored, "stored"
            else:
                score = self._score(step, turns, key, told, background)
                self.source[step] = "scored"
        except ModelError as e:
            self.source[step] = "scored"
            score = self._unscored(step, key, str(e))
        shown = relevant_notes(score, said)
        partly = {n: missing for n in shown if (missing := not_made(n, said))}
        update: dict[str, object] = {"strong_answer": shown, "strong_missing": partly}
        if not finishing and step not in finished_steps(state):
            update["status"] = "in_progress"
        return score.model_copy(update=update)

    def _unscored(self, step: str, key: str, why: str) -> StepScore:
        rubric = self.rubrics[step]
        criteria = [CriterionScore(id=c.id, name=c.name, weight=w, level=None,
                                   rationale=f"Unscored: {why}", evidence=[],
                                   unverified_quotes=0, flagged=False)
                    for c, w in applicable(self.case, rubric)]
        return StepScore(step=step, score=None, weight=rubric.weight, scorer=self.scorer.name,
                         version=key, criteria=criteria,
                         strong_answer=strong_notes(self.case, step))

    def all_results(self, state: InterviewState,
                    progress: Callable[[str], None] | None = None, *,
                    rescore: bool = False) -> list[StepScore]:
        """Every step's score. ``progress`` is told, before each step that is not ready, which
        one is being judged and about how long each takes ("judging step 2 of 3 (goals),
        ~40 s each")."""
        if rescore and self.scorer.name == "llm" and self.store is not None:
            self.store.clear_judge_failures(self.sid)
        if not rescore:
            self.submit(state)
        waiting = [step for step in scored_steps(state)
                   if rescore or not self.ready(state, step)]
        out = []
        for step in scored_steps(state):
            if progress and step in waiting and self.scorer.name == "llm":
                each = self.seconds_per_judge_call()
                progress(f"judging step {waiting.index(step) + 1} of {len(waiting)} "
                         f"({TITLES[step].lower()})" + (f", ~{each:.0f} s each" if each else ""))
            out.append(self.result(state, step, rescore=rescore, background=True))
        return out

    # -- the report ---------------------------------------------------------------------------

    def report(self, state: InterviewState, *, mode: str | None = None,
               progress: Callable[[str], None] | None = None, rescore: bool = False,
               times: dict[str, float] | None = None, interviewer_fallbacks: int = 0) -> Report:
        """The feedback report; waits only for scores not finished in the background.

        Stored scores are used (see stored()): a session judged by a model keeps its judge's
        scores even when no endpoint is configured now. Only steps with no stored score are
        scored now, by the current scorer. ``rescore`` scores every step again with the current
        scorer. ``mode``: the session's mode when it is known better than the state's;
        ``times``: active seconds per step, when the session's clock is kept (the terminal);
        ``interviewer_fallbacks``: interviewer lines the standard text replaced."""
        from agent.practice.timebox import step_times
        from agent.report import ModelAnswer, TranscriptTurn

        steps = self.all_results(state, progress, rescore=rescore)
        drill = state.get("drill")
        practised: list[str] = [drill] if drill else list(STEPS)
        reached: set[str] = {t["step"] for t in state.get("turns", []) if t["step"] in STEPS}
        return build_report(
            session=self.sid, case=self.case.id, case_title=self.case.title,
            mode=mode or str(state.get("mode", "exam")),
            completed=state.get("status") == "completed",
            scorer=self._scorer_info(steps, rescore), steps=steps, drill=drill,
            model_answers=[ModelAnswer(step=s, points=list(self.case.strong_answer[s]))
                           for s in practised],
            time=step_times(self.case, times or {}, practised, reached),
            transcript=[TranscriptTurn(**t) for t in state.get("turns", [])],
            interviewer_fallbacks=interviewer_fallbacks,
        )

    def _scorer_info(self, steps: list[StepScore], rescore: bool) -> ScorerInfo:
        """What scored the report, and a note for the reader whenever that is not simply the
        current scorer scoring everything now."""
        current = self.scorer.name
        current_model, current_prompts = judge_model(self.scorer.version(STEPS[0]))
        judged = [s for s in steps if self.source.get(s.step) in ("stored", "scored")]
        kinds = {s.scorer for s in judged} or {current}
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        models: dict[str, None] = {}
        prompts: dict[str, None] = {}
        for s in judged:
            model, prompt = judge_model(s.version)
            if model is not None and prompt is not None:
                models[model] = None
                prompts[prompt] = None
        if current == "llm" and not models and current_model and current_prompts:
            models[current_model] = None
            prompts[current_prompts] = None
        notes: list[str] = []
        stored_llm = [s for s in judged if s.scorer == "llm"
                      and self.source.get(s.step) == "stored"]
        offline_now = [s for s in judged if s.scorer == "offline"
                       and self.source.get(s.step) == "scored"]
        stored_models = ", ".join(dict.fromkeys(
            m for m in (judge_model(s.version)[0] for s in stored_llm) if m))
        if rescore:
            notes.append("Re-scored now with the "
                         + (f"LLM judge ({current_model})." if current == "llm"
                            else "offline scorer."))
        elif current == "offline" and stored_llm:
            notes.append(f"Judge scores stored during the session ({stored_models}) are shown; "
                         "no model endpoint is configured now, so they were not re-scored.")
            if offline_now:
                names = ", ".join(s.step for s in offline_now)
                notes.append(f"No judge score was stored for {names}: scored offline now. To "
                             f"judge them with the model: interviewer report {self.sid} "
                             "--base-url URL --model NAME")
        elif current == "llm" and stored_llm and stored_models != current_model:
            notes.append(f"Scores judged earlier by {stored_models} are reused; re-score with "
                         f"--rescore to judge every step with {current_model}.")
        llm = kind != "offline"
        from agent.agreement import agreement_for, describe

        agreement = None if kind == "mixed" else describe(
            agreement_for(kind, next(iter(models), None)), self.rubrics.version, self.case.id)
        return ScorerInfo(type=kind,  # type: ignore[arg-type]
                          model=(", ".join(models) or None) if llm else None,
                          prompts=(", ".join(prompts) or None) if llm else None,
                          rubrics=self.rubrics.version, notes=notes, agreement=agreement)
    def turn_waits(self) -> AbstractContextManager[None]:
        """Around work a candidate turn waits for that needs background scores (see
        Scheduler.turn_waits); nothing to do without a model judge."""
        if self.client is None:
            return contextlib.nullcontext()
        return self.client.scheduler.turn_waits()

    def seconds_per_judge_call(self) -> float | None:
        """The median time of this session's judge calls so far (None before the first)."""
        if self.store is None:
            return None
        times = [c["latency_ms"] / 1000 for c in self.store.calls(self.sid)
                 if c["purpose"] == "judge" and not c["cached"] and c["outcome"] in (
                     "ok", "fallback")]
        return statistics.median(times) if times else None

    # -- coach mode ---------------------------------------------------------------------------

    def coach(self, state: InterviewState, step: str) -> str:
        """Brief feedback on a step just finished, and what a strong answer would add."""
        title = TITLES[step]
        score = self.result(state, step, finishing=True)
        extra = (f" A strong answer would also: "
                 f"{as_sentence(_lower_first(score.strong_answer[0]))}"
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
        how = f" ({score.fallback})" if score.fallback else ""
        lines = [f"{title}{how}: {score.score:.1f} / 4."]
        if (best.level or 0) >= 3:
            lines.append(f"Strongest: {best.name.lower()}.")
        if (worst.level or 4) < 4:
            missed = as_sentence(_lower_first(worst.missed or ""))
            lines.append(f"To improve: {worst.name.lower()}" + (f" — {missed}" if missed else "."))
        return " ".join(lines) + extra

    def hint(self, state: InterviewState, step: str) -> str:
        """A nudge toward a gap: the interviewer's probe question for it, which names no rubric
        content. Each /hint in a step moves on to the next unmet criterion (most important
        first), preferring ones not already asked about as a follow-up. While a follow-up
        question is open, the first /hint is about how to answer it (agent/probes/hints.py)."""
        if step not in STEPS:
            return "No hint here."
        question = open_followup(state, step)
        if question is not None:  # how to answer the question on the table, once
            return followup_hint(state, step, question)
        rubric = self.rubrics[step]
        said = answers_in(state, step)
        gaps = sorted((c for c, _ in applicable(self.case, rubric)
                       if status_for(c, said)[1] != "met"),
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


def _lower_first(text: str) -> str:
    """``text`` to follow a dash: its first word in lower case, unless it is a name or an
    acronym ("Establishes both" -> "establishes both"; "TTFT under" stays)."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text
