"""``interviewer doctor``: one short round of checks against the configured model, with a
verdict and advice. ``chat`` runs the cheap part (:func:`preflight`) before the interview starts.

1. reachable, and the key accepted (GET /models; the cheap part, with what was learned earlier
   about the endpoint's structured output);
2. structured output: a small structured call, which negotiates the mode the endpoint takes
   (agent/model/capabilities.py) and remembers it;
3. a sample follow-up, through the interviewer's own path: does it pass the guards on spoken
   text (agent/model/guards.py), within the time budget?
4. latency of each, against the budgets (first_token_s, reply_s).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agent.config import Settings
from agent.model.capabilities import MODE_LABELS, Capabilities, CapabilityStore
from agent.model.client import CallRecord, ModelClient, ModelError, ModelRejected

Status = Literal["ok", "warn", "fail"]
#: A failed check of one of these makes the endpoint not usable at all.
FATAL = ("reachable", "key", "chat")
VERDICTS = {"ready": "ready", "degraded": "usable, with fallbacks", "unusable": "not usable"}


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    seconds: float | None = None


@dataclass
class Report:
    endpoint: str
    checks: list[Check] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    capabilities: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        if any(c.status == "fail" and c.name in FATAL for c in self.checks):
            return "unusable"
        return "degraded" if any(c.status != "ok" for c in self.checks) else "ready"

    @property
    def usable(self) -> bool:
        return self.verdict != "unusable"

    def as_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "verdict": self.verdict,
                "checks": [asdict(c) for c in self.checks], "advice": self.advice,
                "capabilities": self.capabilities}

    def render(self) -> str:
        marks = {"ok": "✓", "warn": "!", "fail": "✗"}
        lines = [f"interviewer doctor: {self.endpoint}"]
        for c in self.checks:
            took = f" ({c.seconds * 1000:.0f} ms)" if c.seconds is not None else ""
            lines.append(f"  {marks[c.status]} {c.name:<17} {c.detail}{took}")
        lines.append(f"verdict: {VERDICTS[self.verdict]}")
        lines += [f"  - {a}" for a in self.advice]
        return "\n".join(lines) + "\n"


def preflight(client: ModelClient) -> Report:
    """The cheap part: reachable, key accepted, model listed; and what is remembered about
    the endpoint's structured output. One GET, no tokens spent, when the endpoint lists the
    model; otherwise also one chat completion of a single token, since a listing that is
    missing (HTTP 404) or lacks the model cannot tell whether chat will answer."""
    settings = client.settings
    report = Report(f"{settings.model} at {settings.base_url}")
    started = time.perf_counter()
    listed: list[str] | None = None
    try:
        listed = client.list_models()
    except ModelRejected as e:
        took = time.perf_counter() - started
        status = str(e)
        if _key_refused(e):
            report.checks.append(Check("reachable", "ok", "it answered", took))
            _refused_key(report, e)
            return report
        # Some servers do not list models (404): reachable, nothing more to learn here.
        said = "no list of models at /models: HTTP 404" if "HTTP 404" in status else _short(e)
        report.checks.append(Check("reachable", "ok", f"it answered ({said})", took))
    except ModelError as e:
        report.checks.append(Check("reachable", "fail", str(e), time.perf_counter() - started))
        report.advice.append("start the server or check --base-url; or run offline with "
                             "--offline")
        return report
    else:
        took = time.perf_counter() - started
        names = ", ".join(listed[:5]) + (" …" if len(listed) > 5 else "")
        count = f"{len(listed)} model{'s' if len(listed) != 1 else ''}"
        report.checks.append(Check("reachable", "ok", f"it lists {count}"
                                   + (f": {names}" if listed else ""), took))
        report.checks.append(Check("key", "ok", "accepted"))
    if (listed is None or settings.model not in listed) and not _probe_chat(
            client, listed, report):
        return report
    if listed and settings.model not in listed:
        report.checks.append(Check("model", "warn", f"{settings.model!r} is not among the "
                                   "models it lists (some servers serve any name; if calls "
                                   "fail, pass the listed name with --model)"))
    caps = client.capabilities()
    if caps.updated:
        report.capabilities = caps.as_json()
        report.checks.append(Check("remembered", "ok", caps.describe()))
    return report


def _probe_chat(client: ModelClient, listed: list[str] | None, report: Report) -> bool:
    """Ask the chat path for one token; add a "chat" check (and a "key" one when it was
    not learned from the listing). False when the endpoint is not usable."""
    settings = client.settings
    started = time.perf_counter()
    try:
        client.probe_chat()
    except ModelRejected as e:
        took = time.perf_counter() - started
        status = str(e)
        if _key_refused(e):
            _refused_key(report, e, took)
            return False
        if "HTTP 404" not in status:
            # The path is there and answered; it disliked the probe, not necessarily chat.
            report.checks.append(Check("chat", "warn", f"a one-token probe was refused "
                                       f"({_short(e)})", took))
            return True
        if settings.fallback_model and settings.fallback_model != settings.model:
            try:
                client.probe_chat(settings.fallback_model)
            except ModelError:
                pass
            else:
                report.checks.append(Check(
                    "chat", "warn", f"HTTP 404 for {settings.model!r}; the fallback model "
                    f"{settings.fallback_model!r} answers: {_not_found_cause(settings, listed)}",
                    time.perf_counter() - started))
                return True
        report.checks.append(Check("chat", "fail", f"chat completions answered HTTP 404: "
                                   f"{_not_found_cause(settings, listed)}", took))
        report.advice.append("fix --base-url or --model (INTERVIEWER_BASE_URL, "
                             "INTERVIEWER_MODEL) and run interviewer doctor again")
        return False
    except ModelError as e:
        report.checks.append(Check("chat", "warn", f"a one-token probe failed ({_short(e)})",
                                   time.perf_counter() - started))
        return True
    took = time.perf_counter() - started
    report.checks.append(Check("chat", "ok", f"it answers chat completions as "
                               f"{settings.model!r}", took))
    if listed is None:
        report.checks.append(Check("key", "ok", "accepted"))
    return True


def _key_refused(e: ModelRejected) -> bool:
    return "HTTP 401" in str(e) or "HTTP 403" in str(e)


def _refused_key(report: Report, e: ModelRejected, took: float | None = None) -> None:
    """The "key" check failed, with the advice to check it."""
    report.checks.append(Check("key", "fail", f"the key was refused: {e}", took))
    report.advice.append("check the API key (INTERVIEWER_API_KEY, --api-key-file or "
                         "the provider's variable)")


def _not_found_cause(settings: Settings, listed: list[str] | None) -> str:
    """The likely reason the chat path answers 404, in one line."""
    base = (settings.base_url or "").rstrip("/")
    if listed:
        names = ", ".join(listed[:5]) + (" …" if len(listed) > 5 else "")
        return (f"the model {settings.model!r} is unknown to it (it lists {names}); pass one "
                "of those with --model")
    if not base.endswith("/v1"):
        return (f"the base URL is likely missing /v1 (try --base-url {base}/v1), or the model "
                f"{settings.model!r} is unknown to it")
    return (f"the base URL {base} is likely wrong (no chat completions there), or the model "
            f"{settings.model!r} is unknown to it")


def run(settings: Settings, *, store: CapabilityStore | None = None,
        http_client: Any = None) -> Report:
    """The whole round of checks (a few model calls)."""
    from agent.cases import get_case
    from agent.llm_policy import FactSelection
    from agent.prompts import fence, load_prompt

    records: list[CallRecord] = []
    client = ModelClient(settings, recorder=records.append, capabilities=store,
                         http_client=http_client)
    try:
        report = preflight(client)
        if not report.usable:
            return report
        case = get_case("fintech-p99-spikes")
        topics = "\n".join(f"- {f.id}: {f.topic}" for f in case.facts)
        prompt = load_prompt("clarify_select").render(
            case_prompt=case.prompt.strip(), topics=topics,
            question=fence("What is the traffic at peak, and what latency target did we "
                           "promise?"))
        started = time.perf_counter()
        try:
            client.structured([{"role": "user", "content": prompt}], FactSelection,
                              purpose="doctor", prompt_hash="doctor", max_tokens=200)
            caps = client.capabilities()
            gone = "; ".join(f"{MODE_LABELS[m]} rejected ({why})"
                             for m, why in caps.rejected.items())
            report.checks.append(Check("structured", "ok", MODE_LABELS[caps.structured]
                                       + (f"; {gone}" if gone else ""),
                                       time.perf_counter() - started))
        except ModelError as e:
            report.checks.append(Check("structured", "fail", _short(e),
                                       time.perf_counter() - started))
            report.advice.append("this model failed structured output: clarify answers will "
                                 "come from the case notes by keyword, follow-ups will be "
                                 "decided and feedback scored offline (rubric signals)")
        report.capabilities = client.capabilities().as_json()
        _sample_followup(client, case, records, report)
        _latency(settings, records, report)
        report.checks.append(Check(
            "settings", "ok", f"context {settings.context_tokens:,} tokens (match the "
            "server's --ctx-size / num_ctx: INTERVIEWER_CONTEXT_TOKENS); "
            f"{settings.max_concurrency} background judge call"
            f"{'s' if settings.max_concurrency != 1 else ''} at once"))
        return report
    finally:
        client.close()


class _Quiet:
    """A Speaker that keeps what would have been said."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def __call__(self, piece: str) -> None:
        self.said.append(piece)

    def restart(self, reason: str = "") -> None:
        self.said.clear()

    def notice(self, text: str) -> None:
        pass


def _sample_followup(client: ModelClient, case: Any, records: list[CallRecord],
                     report: Report) -> None:
    from agent.llm_policy import LLMInterviewer
    from agent.prompts import script
    from agent.rubrics import default_rubrics

    rubric = default_rubrics()["diagnose"]
    criterion = rubric.criteria[0]
    before = len(records)
    started = time.perf_counter()
    try:
        LLMInterviewer(client).followup(
            case, rubric, criterion, str(script()["openers"]["diagnose"]),
            ["Probably autoscaling is too slow when traffic spikes."], _Quiet())
    except ModelError as e:
        report.checks.append(Check("sample follow-up", "fail", _short(e)))
        return
    took = time.perf_counter() - started
    speech = [r for r in records[before:] if r.purpose == "interviewer"]
    final = speech[-1] if speech else None
    if final is not None and final.outcome in ("ok", "cached", "fallback") and len(speech) == 1:
        report.checks.append(Check("sample follow-up", "ok", "passed the guards", took))
        return
    why = "; ".join(r.error or r.outcome for r in speech)
    report.checks.append(Check("sample follow-up", "warn",
                               f"the interviewer would have used its standard question ({why})",
                               took))
    report.advice.append("the sample follow-up failed the checks on spoken text: with this "
                         "model the interviewer will often say its standard questions instead")


def _latency(settings: Settings, records: list[CallRecord], report: Report) -> None:
    speech = [r for r in records if r.purpose == "interviewer" and r.outcome != "slow"]
    slow = [r for r in records if r.outcome == "slow"]
    longest = max((r.latency_ms / 1000 for r in records), default=0.0)
    if slow or longest > settings.first_token_s:
        report.checks.append(Check(
            "latency", "warn", f"the slowest call took {longest:.1f} s; the interviewer waits "
            f"{settings.first_token_s:g} s for a first word and {settings.reply_s:g} s in all "
            "before it uses its standard text"))
        report.advice.append("replies are slow for the time budget: raise "
                             "INTERVIEWER_FIRST_TOKEN_S / INTERVIEWER_REPLY_S, or use a faster "
                             "model")
    else:
        firsts = [r.first_token_ms for r in speech if r.first_token_ms is not None]
        first = f"first word after {max(firsts) / 1000:.1f} s; " if firsts else ""
        report.checks.append(Check("latency", "ok", f"{first}slowest call {longest:.1f} s "
                                   f"(budget {settings.first_token_s:g} s / "
                                   f"{settings.reply_s:g} s)"))


def _short(e: BaseException) -> str:
    return str(e).removeprefix("the model endpoint ")


def describe_capabilities(data: dict[str, Any] | None) -> str:
    return Capabilities.from_json(data).describe() if data else "nothing learned yet"
