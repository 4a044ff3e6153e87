"""The interview graph: one node per framework step, then wrap_up.

Each step node runs once per candidate turn: it waits for the answer with ``interrupt()``,
decides what the interviewer says next (a clarify answer, a follow-up, or the transition to the
next step), says it, and returns ``Command(goto=...)``: itself to keep going, or the next step.
Everything before ``interrupt()`` only reads state, so re-running the node on resume is free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.cases import Case, get_case
from agent.policy import Interviewer
from agent.prompts import script
from agent.rubrics import RubricSet, default_rubrics
from agent.state import InterviewState, Turn, answers_in, last_question
from agent.steps import STEPS, next_step
from agent.textio import GRAPH_COMMANDS


def _interviewer_from_environment() -> Interviewer:
    """Offline, or the endpoint in INTERVIEWER_BASE_URL & co. (``langgraph dev`` builds the
    context from defaults, so every field needs one)."""
    from agent.config import resolve
    from agent.engine import make_interviewer

    return make_interviewer(resolve())


@dataclass(kw_only=True)
class Context:
    """Run-time dependencies of the graph (not checkpointed)."""

    interviewer: Interviewer = field(default_factory=_interviewer_from_environment)
    rubrics: RubricSet = field(default_factory=default_rubrics)
    case_loader: Callable[[str], Case] = get_case
    coach: Callable[[InterviewState, str], str] | None = None
    """Coach mode: brief feedback on a finished step (set by agent/feedback.py)."""
    hint: Callable[[InterviewState, str], str] | None = None
    """Coach mode: a nudge for the current step that does not give the answer away."""


class Voice:
    """Streams one utterance at a time to the client through LangGraph's custom stream.

    Events: {"begin": kind, "step": step}, then {"say": piece}... (or {"restart": True} when a
    broken model stream is retried), then {"end": kind}."""

    def __init__(self) -> None:
        try:
            self._write: Callable[[Any], None] = get_stream_writer()
        except RuntimeError:  # not inside a streaming run
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

    def restart(self) -> None:
        self.spoken.clear()
        self._write({"restart": True})

    def line(self, text: str, kind: str, step: str) -> Turn:
        """Finish an utterance as a turn, speaking ``text`` if nothing was streamed for it."""
        if not "".join(self.spoken).strip() and text:
            self.begin(kind, step)
            self(text)
        self._write({"end": kind})
        self.spoken.clear()
        self._begun = False
        return Turn(role="interviewer", step=step, kind=kind, text=text)  # type: ignore[typeddict-item]


def parse_resume(value: Any) -> tuple[str, str]:
    """A resume value is {"answer": text}, {"command": name} or a plain string."""
    if isinstance(value, dict):
        if "command" in value:
            return "command", str(value["command"])
        return "answer", str(value.get("answer", ""))
    text = str(value)
    if text.startswith("/") and text[1:].strip() in GRAPH_COMMANDS:
        return "command", text[1:].strip()
    return "answer", text


def _ctx(runtime: Runtime[Context]) -> Context:
    return runtime.context if runtime.context is not None else Context()


def make_step_node(step: str) -> Callable[[InterviewState, Runtime[Context]], Command[str]]:
    def node(state: InterviewState, runtime: Runtime[Context]) -> Command[str]:
        ctx = _ctx(runtime)
        case = ctx.case_loader(state["case_id"])
        if step == "clarify" and not state.get("turns"):
            # Started without the case prompt (e.g. from LangGraph Studio): read it out first.
            voice = Voice()
            return Command(goto=step, update={
                "turns": [voice.line(case.prompt.strip(), "prompt", step)], "step": step})

        resumed = interrupt({"step": step, "question": last_question(state)})

        kind, text = parse_resume(resumed)
        voice = Voice()
        new: list[Turn] = [Turn(role="candidate", step=step,
                                kind="command" if kind == "command" else "answer",
                                text=("/" + text) if kind == "command" else text)]
        if kind == "command":
            if text == "hint":
                if state.get("mode") == "coach" and ctx.hint is not None:
                    new.append(voice.line(ctx.hint(state, step), "hint", step))
                else:
                    new.append(voice.line("Hints are only available in coach mode.", "notice",
                                          step))
                return Command(goto=step, update={"turns": new})
            # /skip after answering keeps the answers: it moves on like /next.
            skipped = text == "skip" and not answers_in(state, step)
            return _transition(state, ctx, step, new, voice, skipped=skipped)

        answers = [*answers_in(state, step), text]
        if step == "clarify":
            voice.begin("fact", step)
            reply = ctx.interviewer.clarify(case, text, state.get("turns", []), voice)
            update: dict[str, Any] = {"facts_told": reply.fact_ids}
            if reply.ends_step or len(answers) >= case.max_clarify_turns:
                if reply.text:
                    new.append(voice.line(reply.text, "fact", step))
                if not reply.ends_step:
                    new.append(voice.line(str(script()["clarify_limit"]), "notice", step))
                return _transition(state, ctx, step, new, voice, extra=update)
            new.append(voice.line(reply.text, "fact", step))
            return Command(goto=step, update={"turns": new, **update})

        rubric = ctx.rubrics[step]
        used = state.get("followups", {}).get(step, 0)
        if used < state.get("max_followups", 2):
            probed = state.get("probed", {}).get(step, [])
            target = ctx.interviewer.assess(case, rubric, answers).target(rubric, probed)
            if target is not None:
                voice.begin("followup", step)
                asked = ctx.interviewer.followup(
                    case, rubric, target, _opening_question(state, step), answers, voice)
                new.append(voice.line(asked, "followup", step))
                return Command(goto=step, update={
                    "turns": new,
                    "followups": {**state.get("followups", {}), step: used + 1},
                    "probed": {**state.get("probed", {}), step: [*probed, target.id]},
                })
        return _transition(state, ctx, step, new, voice)

    node.__name__ = step
    return node


def _opening_question(state: InterviewState, step: str) -> str:
    for t in state.get("turns", []):
        if t["role"] == "interviewer" and t["step"] == step and t["kind"] in ("opener", "prompt"):
            return t["text"]
    return ""


def _transition(state: InterviewState, ctx: Context, step: str, new: list[Turn], voice: Voice,
                *, skipped: bool = False, extra: dict[str, Any] | None = None) -> Command[str]:
    lines = script()
    update: dict[str, Any] = dict(extra or {})
    if skipped:
        update["skipped"] = [step]
    elif state.get("mode") == "coach" and ctx.coach is not None:
        new.append(voice.line(ctx.coach({**state, "turns": [*state.get("turns", []), *new]},
                                        step), "coach", step))
    following = None if state.get("drill") else next_step(step)
    if following is None:
        return Command(goto="wrap_up", update={"turns": new, "step": "wrap_up", **update})
    lead = str(lines["skip"]) if skipped else str(lines["transitions"].get(step, ""))
    opener = f"{lead} {lines['openers'][following]}".strip()
    new.append(voice.line(opener, "opener", following))
    return Command(goto=following, update={"turns": new, "step": following, **update})


def _entry(state: InterviewState) -> str:
    drill = state.get("drill")
    if drill is not None and drill not in STEPS:
        raise ValueError(f"drill: unknown step {drill!r}")
    return drill or "clarify"


def wrap_up(state: InterviewState, runtime: Runtime[Context]) -> dict[str, Any]:
    voice = Voice()
    closing = voice.line(str(script()["closing"]), "closing", "wrap_up")
    return {"turns": [closing], "status": "completed", "step": "wrap_up"}


def build_graph(checkpointer: Any = None) -> Any:
    """The compiled interview graph. Pass a checkpointer to persist sessions."""
    builder = StateGraph(InterviewState, context_schema=Context)
    for i, step in enumerate(STEPS):
        after = STEPS[i + 1] if i + 1 < len(STEPS) else "wrap_up"
        node: Any = make_step_node(step)  # LangGraph's overloads can't type a runtime node
        builder.add_node(step, node, destinations=(step, after))
    builder.add_node("wrap_up", wrap_up)
    # A drill starts at the step it practises; a full interview at clarify.
    builder.add_conditional_edges(START, _entry, list(STEPS))
    builder.add_edge("wrap_up", END)
    return builder.compile(checkpointer=checkpointer, name="interviewer")


#: The module-level graph served by ``langgraph dev`` (see langgraph.json).
graph = build_graph()
