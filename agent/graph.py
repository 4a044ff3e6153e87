"""The interview graph: start, one node per framework step, then wrap_up.

``start`` validates the start input (agent/schema.py), reads the case out and goes to clarify;
on a thread that already holds an interview it changes nothing and returns to where the
interview is. Each step node runs once per candidate turn: it waits with ``interrupt()`` (the
payload is agent.schema.Waiting), reads the resume value with the rules every driver shares
(agent/commands.py), decides what the interviewer says next (a clarify answer, a follow-up, or
the transition to the next step), says it, and returns ``Command(goto=...)``: itself to keep
going, or the next step. An input that changes nothing (refused, /help, /repeat, /quit) is not
stored: its reply goes into the next interrupt. Everything before ``interrupt()`` only reads
state, so re-running the node on resume is free. ``wrap_up`` says goodbye and puts the report in
the final state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime, get_runtime
from langgraph.types import Command, interrupt

from agent import commands, graph_threads
from agent.cases import Case
from agent.context import Context
from agent.feedback import SessionScoring
from agent.probes.react import assumptions_reply, respond
from agent.prompts import clarify_budget, script
from agent.schema import InputError, StartInput, Utterance, Waiting, check_start
from agent.state import (
    InterviewState,
    Notice,
    StartedWith,
    Turn,
    answered_count,
    answers_in,
    current_question,
)
from agent.steps import STEPS, TITLES, next_step

graph_threads.install()

SETTINGS = ("case_id", "mode", "max_followups", "drill")


class Voice:
    """Streams one utterance at a time to the client through LangGraph's custom stream.

    Events: {"begin": kind, "step": step}, then {"say": piece}... (or {"restart": True} when a
    broken model stream is retried, with a "reason" when a reply was withdrawn), then
    {"end": kind}; {"notice": text} is a note about how a line was made, not part of it."""

    def __init__(self) -> None:
        self._write: Callable[[Any], None]
        try:
            runtime = get_runtime(Context)
            events = runtime.context.events if runtime.context is not None else None
            self._write = events if events is not None else get_stream_writer()
        except RuntimeError:  # not inside a run
            self._write = lambda _chunk: None
        self.spoken: list[str] = []
        self._kind, self._step, self._begun = "say", "", False

    def begin(self, kind: str, step: str) -> None:
        self._kind, self._step, self._begun = kind, step, False

    def __call__(self, piece: str) -> None:
        if not self._begun:
            self._write({"begin": self._kind, "step": self._step})
            self._begun = True
        self.spoken.append(piece)
        self._write({"say": piece})

    def restart(self, reason: str = "") -> None:
        self.spoken.clear()
        self._write({"restart": True, **({"reason": reason} if reason else {})})

    def notice(self, text: str) -> None:
        self._write({"notice": text})

    def line(self, text: str, kind: str, step: str) -> Turn:
        """Finish an utterance as a turn, speaking ``text`` if nothing was streamed for it."""
        if not "".join(self.spoken).strip() and text:
            self.begin(kind, step)
            self(text)
        self._write({"end": kind})
        self.spoken.clear()
        self._begun = False
        return Turn(role="interviewer", step=step, kind=kind, text=text)  # type: ignore[typeddict-item]


def _ctx(runtime: Runtime[Context]) -> Context:
    return runtime.context if runtime.context is not None else Context()


def _thread_id() -> str:
    return str(get_config().get("configurable", {}).get("thread_id", ""))


def _scoring(ctx: Context, case: Case) -> SessionScoring | None:
    return ctx.scoring(_thread_id(), case) if ctx.scoring is not None else None


def _case(ctx: Context, state: InterviewState) -> Case:
    return ctx.cases()[state["case_id"]]


def _engine(ctx: Context, state: InterviewState) -> dict[str, Any]:
    """The engine label, when it changed (a session resumed offline after a model, say)."""
    return {} if state.get("engine") == ctx.engine else {"engine": ctx.engine}


# -- start ------------------------------------------------------------------------------------

def start(state: InterviewState, runtime: Runtime[Context]) -> Command[str]:
    """Validate the start input and read the case out; on a thread that already holds an
    interview, ignore the input (restoring what it overwrote) and go back to where it is."""
    ctx = _ctx(runtime)
    pinned = state.get("started_with")
    if pinned is not None or state.get("turns"):
        return _already_started(state, pinned)
    cases = ctx.cases()
    try:
        given = check_start({k: state[k] for k in SETTINGS  # type: ignore[literal-required]
                             if state.get(k) is not None}, cases)
    except InputError as e:
        # The input's values are in the state already (LangGraph writes the input first): clear
        # them, so a corrected start on this thread is not judged by what it did not re-send,
        # then fail the run with the message (refuse_start raises it).
        return Command(goto="refuse_start", update={
            **dict.fromkeys(SETTINGS), "notice": Notice(kind="refused", text=str(e))})
    case = cases[given.case_id]
    settings = StartedWith(case_id=given.case_id, mode=given.mode,
                           max_followups=given.max_followups)
    # A drill starts at the step it practises; a full interview at clarify.
    step = given.drill or "clarify"
    voice = Voice()
    if given.drill is not None and given.drill != "clarify":
        # The scenario without its invitation to clarify, what clarifying would have told the
        # candidate, then the step's first question.
        from agent.practice.drill import briefed, briefing, opener, scenario

        turns = [voice.line(scenario(case), "prompt", step),
                 voice.line(briefing(case), "notice", step),
                 voice.line(opener(step), "opener", step)]
        briefed_ids = briefed(case)  # told, as clarify's answers are (trial 12)
    else:
        turns = [voice.line(case.prompt.strip(), "prompt", step),
                 voice.line(clarify_budget(case.max_clarify_turns), "notice", step)]
        briefed_ids = []
    if given.drill is not None:
        settings["drill"] = given.drill
    return Command(goto=step, update={
        **settings, "started_with": settings, "step": step, "status": "in_progress",
        "turns": turns, "followups": {}, "probed": {}, "engine": ctx.engine, "notice": None,
        "facts_told": briefed_ids,  # appended to (operator.add): none but a drill's briefing
    })


def refuse_start(state: InterviewState) -> dict[str, Any]:
    """Fail the run with what was wrong with its start input (readable through the server)."""
    notice = state.get("notice")
    raise InputError(notice["text"] if notice else "the start input is not valid")


def _already_started(state: InterviewState, pinned: StartedWith | None) -> Command[str]:
    restore: dict[str, Any] = dict(pinned) if pinned is not None else {}
    settings = {**state, **restore}
    step = str(state.get("step", "clarify"))
    what = (f"{settings.get('case_id')}, {settings.get('mode', 'exam')} mode")
    if state.get("status") == "completed":
        text = (f"This thread already holds a completed interview ({what}); the start input was "
                "ignored and the interview is unchanged (its report is in the state). Start "
                "another interview on a new thread.")
        goto: str = END
    else:
        where = (f"step {STEPS.index(step) + 1} of {len(STEPS)}, {TITLES[step]}"
                 if step in STEPS else "finishing")
        text = (f"This thread already holds an interview in progress ({what}, {where}); the "
                "start input was ignored and the interview goes on from its current question. "
                "Start another interview on a new thread.")
        goto = step if step in STEPS else "wrap_up"
    notice = Notice(kind="start_ignored", text=text)
    return Command(goto=goto, update={**restore, "notice": notice})


# -- the steps --------------------------------------------------------------------------------

def waiting(state: InterviewState, step: str, case: Case, engine: str) -> dict[str, Any]:
    """The interrupt payload (agent.schema.Waiting) for a step waiting for the candidate."""
    last = next((t for t in reversed(state.get("turns", [])) if t["role"] == "interviewer"),
                None)
    mode = state.get("mode", "exam")
    clarify_left = (max(0, case.max_clarify_turns - len(answers_in(state, "clarify")))
                    if step == "clarify" else None)
    return Waiting(
        step=step, title=TITLES[step], number=STEPS.index(step) + 1, total=len(STEPS),
        last=Utterance(kind=last["kind"], text=last["text"]) if last else Utterance(
            kind="prompt", text=case.prompt.strip()),
        question=current_question(state) or case.prompt.strip(),
        commands=commands.allowed(mode), clarify_left=clarify_left, mode=mode, engine=engine,
        notice=state.get("notice"),  # type: ignore[arg-type]  # validated into Notice
        answered=answered_count(state),
    ).model_dump()


def make_step_node(step: str) -> Callable[[InterviewState, Runtime[Context]], Command[str]]:
    def node(state: InterviewState, runtime: Runtime[Context]) -> Command[str]:
        ctx = _ctx(runtime)
        case = _case(ctx, state)
        turns = state.get("turns", [])
        if turns and turns[-1]["kind"] == "opener" and turns[-1]["step"] == step:
            # The step has just begun: score the finished ones in the background while its
            # question is on screen (at the end of the run, so scoring never competes with the
            # turn's own work; submitting again on resume is a no-op).
            scoring = _scoring(ctx, case)
            if scoring is not None:
                scoring.submit(state)
        resumed = interrupt(waiting(state, step, case, ctx.engine))

        given = commands.read_input(resumed)
        voice = Voice()
        notice = commands.reply(state, given) or commands.confirm_next(state, given)
        if notice is not None:
            # Changes nothing and is not stored; the reply goes to the client now (streamed)
            # and in the next interrupt.
            voice.line(notice["text"], "notice", step)
            return Command(goto=step, update={"notice": notice})
        base = {"notice": None, **_engine(ctx, state)}
        if isinstance(given, commands.Command):
            new = [Turn(role="candidate", step=step, kind="command", text="/" + given.name)]
            if given.name == "hint":  # coach mode: reply() refuses it in exam mode
                scoring = _scoring(ctx, case)
                hint = (scoring.hint(state, step) if scoring is not None
                        else "No hints are available in this interview.")
                new.append(voice.line(hint, "hint", step))
                return Command(goto=step, update={"turns": new, **base})
            # /skip after answering keeps the answers: it moves on like /next.
            skipped = given.name == "skip" and not answers_in(state, step)
            return _transition(state, ctx, case, step, new, voice, skipped=skipped, extra=base)

        assert isinstance(given, commands.Answer)
        text = given.text
        new = [Turn(role="candidate", step=step, kind="answer", text=text)]
        answers = [*answers_in(state, step), text]
        if step == "clarify":
            return _clarify(state, ctx, case, text, new, voice, base)

        asked = _later_question(state, case, step, text, new, voice, base)
        if asked is not None:
            return asked
        rubric = ctx.rubrics[step]
        used = state.get("followups", {}).get(step, 0)
        if used < state.get("max_followups", 2):
            # Challenge a claim, probe the biggest gap or deepen a strong point
            # (agent/probes/react.py); None moves on.
            probed = state.get("probed", {}).get(step, [])
            voice.begin("followup", step)
            reaction = respond(ctx.interviewer, case, rubric, step, state, answers, probed,
                               voice)
            if reaction is not None:
                new.append(voice.line(reaction.text, "followup", step))
                return Command(goto=step, update={
                    "turns": new,
                    "followups": {**state.get("followups", {}), step: used + 1},
                    "probed": {**state.get("probed", {}), step: [*probed, reaction.about]},
                    "reactions": [{"step": step, "kind": reaction.kind,
                                   **({"fact": reaction.fact} if reaction.fact else {})}],
                    **base,
                })
        return _transition(state, ctx, case, step, new, voice, extra=base)

    node.__name__ = step
    return node


#: Questions about the case a step after clarify answers from the fact sheet, at most; after
#: that the interviewer goes on as it would after any answer.
LATER_QUESTIONS = 2


def _later_question(state: InterviewState, case: Case, step: str, text: str, new: list[Turn],
                    voice: Voice, base: dict[str, Any]) -> Command[str] | None:
    """A message that only asks, in a step after clarify, about what the fact sheet answers
    ("How busy is the fleet?" in diagnose): the interviewer answers it in the sheet's words, as
    clarify would, and the step goes on (no follow-up is spent). A trial's sceptical candidate
    asked twice and was given latency probes on a pricing case instead. Clue facts keep their
    rule (told only to a question that asks for them directly: agent/clarify/select.py). None
    when the message states something, asks what the sheet does not say, or the step has
    answered :data:`LATER_QUESTIONS` already."""
    from agent.clarify import reply
    from agent.offline import facts_asked, only_asks, question_parts

    turns = state.get("turns", [])
    if (not only_asks(text) or sum(1 for t in turns if t["step"] == step
                                   and t["kind"] == "fact") >= LATER_QUESTIONS):
        return None
    facts = facts_asked(case, question_parts(text))
    if not facts:
        return None
    said = reply.answer(facts, reply.told_before(case, turns))
    new.append(voice.line(said, "fact", step))
    return Command(goto=step, update={"turns": new, "facts_told": [f.id for f in facts], **base})


#: The candidate is told how many clarifying questions are left when this few remain.
ANNOUNCE_LEFT = 2


def _clarify(state: InterviewState, ctx: Context, case: Case, text: str, new: list[Turn],
             voice: Voice, base: dict[str, Any]) -> Command[str]:
    """One clarify turn. The interviewer answers the question (agent.policy.Interviewer.clarify)
    and, when few questions remain, says how many. The last question's answer ends by asking
    for the candidate's assumptions; the answer to that still belongs to clarify, and then the
    step ends. A message that states assumptions ends it at once."""
    lines = script()["clarify_pacing"]
    limit = case.max_clarify_turns
    asked = len(answers_in(state, "clarify"))
    if asked >= limit:
        # The answer to the request for assumptions: recorded in clarify, nothing told (a
        # question instead of assumptions is told that the questions are used up).
        from agent.offline import only_asks

        if only_asks(text):
            return _transition(state, ctx, case, "clarify", new, voice, extra=base,
                               lead=str(lines["question_at_limit"]))
        return _after_assumptions(state, ctx, case, text, new, voice, base)
    voice.begin("fact", "clarify")
    reply = ctx.interviewer.clarify(case, text, state.get("turns", []), voice)
    update: dict[str, Any] = {"facts_told": reply.fact_ids, **base}
    if reply.text:
        new.append(voice.line(reply.text, "fact", "clarify"))
    if reply.ends_step:
        said = [reply.text, *(case.fact(f).answer for f in reply.fact_ids)]
        return _after_assumptions(state, ctx, case, text, new, voice, update, said)
    left = limit - asked - 1
    if left <= 0:
        new.append(voice.line(str(lines["ask_assumptions"]), "followup", "clarify"))
    elif left <= ANNOUNCE_LEFT:
        key = "one_left" if left == 1 else "few_left"
        new.append(voice.line(str(lines[key]).format(n=left), "notice", "clarify"))
    return Command(goto="clarify", update={"turns": new, **update})


def _after_assumptions(state: InterviewState, ctx: Context, case: Case, text: str,
                       new: list[Turn], voice: Voice, update: dict[str, Any],
                       said: Sequence[str] = ()) -> Command[str]:
    """Leave clarify after the candidate's assumptions ``text``: accepted, or an assumption
    the fact sheet contradicts corrected and a figure nobody gave challenged
    (agent/probes/react.py ``assumptions_reply``; ``said``: the interviewer's reply to the
    same message). A correction tells its fact; a challenge is the clarify step's reaction."""
    reply = assumptions_reply(case, state, text, said)
    if reply is None:
        return _transition(state, ctx, case, "clarify", new, voice, extra=update,
                           lead=str(script()["clarify_pacing"]["after_assumptions"]))
    update = {**update, "facts_told": [*update.get("facts_told", []), *reply.facts]}
    if reply.about:
        probed = state.get("probed", {})
        update["probed"] = {**probed, "clarify": [*probed.get("clarify", []), *reply.about]}
    return _transition(state, ctx, case, "clarify", new, voice, extra=update, lead=reply.text)


def _lead(state: InterviewState, step: str, new: list[Turn], skipped: bool) -> str:
    """What the interviewer says on leaving ``step`` (before the next step's question): the
    clarify line fits what happened (no "enough context" after no question at all)."""
    lines = script()
    if skipped:
        return str(lines["skip"])
    if step == "clarify" and not answers_in(state, "clarify") and not any(
            t["role"] == "candidate" and t["kind"] == "answer" for t in new):
        return str(lines["clarify_pacing"]["no_questions"])
    return str(lines["transitions"].get(step, ""))


def _transition(state: InterviewState, ctx: Context, case: Case, step: str, new: list[Turn],
                voice: Voice, *, skipped: bool = False,
                extra: dict[str, Any] | None = None, lead: str | None = None) -> Command[str]:
    """Leave ``step``: coach feedback in coach mode, then the next step's opener (or wrap_up).
    The next step's node hands the finished step to background scoring."""
    lines = script()
    update: dict[str, Any] = dict(extra or {})
    scoring = _scoring(ctx, case)
    if skipped:
        update["skipped"] = [step]
    elif state.get("mode") == "coach" and scoring is not None:
        with scoring.turn_waits():
            note = scoring.coach({**state, "turns": [*state.get("turns", []), *new]}, step)
        new.append(voice.line(note, "coach", step))
    following = None if state.get("drill") else next_step(step)
    if following is not None:
        if lead is None:
            lead = _lead(state, step, new, skipped)
        opener = f"{lead} {lines['openers'][following]}".strip()
        new.append(voice.line(opener, "opener", following))
    goto = following or "wrap_up"
    return Command(goto=goto, update={"turns": new, "step": goto, **update})


def wrap_up(state: InterviewState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The closing line, then the report in the state when the context asks for it (waiting
    only for scores not finished yet)."""
    ctx = _ctx(runtime)
    if state.get("drill"):
        from agent.practice.drill import closing as drill_closing

        line = drill_closing()
    else:
        line = str(script()["closing"])
    closing = Voice().line(line, "closing", "wrap_up")
    update: dict[str, Any] = {"turns": [closing], "status": "completed", "step": "wrap_up",
                              "notice": None}
    scoring = _scoring(ctx, _case(ctx, state))
    if scoring is not None:
        done: InterviewState = {**state, "turns": [*state.get("turns", []), closing],
                                "status": "completed", "step": "wrap_up"}
        if ctx.report_in_state:
            with scoring.turn_waits():  # the turn now waits on background scoring itself
                update["report"] = scoring.report(done).model_dump(mode="json")
        else:  # the last steps are scored in the background; the driver waits for them
            scoring.submit(done)
    return update


def build_graph(checkpointer: Any = None) -> Any:
    """The compiled interview graph. Pass a checkpointer to persist sessions."""
    builder = StateGraph(InterviewState, context_schema=Context, input_schema=StartInput)
    start_node: Any = start  # LangGraph's overloads can't type a runtime node
    builder.add_node("start", start_node, destinations=(*STEPS, "wrap_up", "refuse_start", END))
    builder.add_node("refuse_start", refuse_start)
    for i, step in enumerate(STEPS):
        after = STEPS[i + 1] if i + 1 < len(STEPS) else "wrap_up"
        node: Any = make_step_node(step)
        builder.add_node(step, node, destinations=(step, after))
    builder.add_node("wrap_up", wrap_up)
    builder.add_edge(START, "start")
    builder.add_edge("wrap_up", END)
    return builder.compile(checkpointer=checkpointer, name="interviewer")
