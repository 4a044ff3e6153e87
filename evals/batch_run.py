"""``eval run --batch``: the judge's calls go through a provider's batch API, then the run scores
from the call cache as usual.

1. For every task still to score, the judge's first request is captured instead of sent
   (``agent.model.batch.RequestCapture``): the same messages, parameters and cache key a live
   call would use. Requests already in the cache are skipped (``--cache record`` sends all).
2. They are submitted as one batch (several when a provider's size limit needs it), with
   ``custom_id`` = ``item:step:repeat``. A row naming each batch and its requests is written to
   the partial results file at once, so Ctrl-C (or a crash) loses nothing: the next run with
   the same command collects the same batch instead of paying for a new one.
3. While the provider works, the progress display shows its counts (on a terminal a bar, else a
   line every few seconds).
4. When it ends (completed, or expired/cancelled with part of the work done), the output and
   error files are downloaded, lines are matched by ``custom_id``, and every reply is stored in
   the call cache under the live call's key, with its token counts, exactly like a live reply:
   ``--cache replay`` works afterwards.
5. The normal scoring pass then runs: batch replies come from the cache; a judge re-ask (a reply
   that did not validate) and every failed or expired line are called live
   (``--batch-failures live``, the default) or the task is reported failed
   (``--batch-failures report``; rerunning sends those tasks in a new batch).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast

from agent import tokens
from agent.cases import Case
from agent.prices import cost
from evals.dataset import Interview
from evals.progress import Progress
from evals.runner import step_turns, told_before

if TYPE_CHECKING:
    from agent.model.batch import BatchAPI, BatchLine, BatchRequest
    from agent.model.client import ModelClient
    from evals.runner import Run, Task

FAILURE_MODES = ("live", "report")


def custom_id(task: Task) -> str:
    return f"{task[0]}:{task[1]}:{task[2]}"


@dataclass
class Pending:
    """One submitted batch, as kept in the partial results file."""

    id: str
    provider: str
    requests: dict[str, str]
    """custom_id -> cache key of the request."""
    model: str
    counted: dict[str, int] = field(default_factory=dict)
    """custom_id -> our own token count of the request (for the cache entry's usage)."""

    def row(self) -> dict[str, Any]:
        return {"batch": {"id": self.id, "provider": self.provider, "model": self.model,
                          "requests": self.requests, "counted": self.counted,
                          "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}}


class BatchPhase:
    """Fills the call cache of ``run`` through a batch API before its scoring pass."""

    def __init__(self, run: Run, provider: str, *, poll_s: float, failures: str,
                 account: str | None = None) -> None:
        from agent.model.batch import batch_api

        if failures not in FAILURE_MODES:
            raise ValueError(f"--batch-failures: {failures!r} is not one of {FAILURE_MODES}")
        self.run = run
        self.provider = provider
        self.poll_s = poll_s
        self.failures = failures
        self.api: BatchAPI = batch_api(provider, run.clients[0], account=account)
        self.pending: list[Pending] = []
        self.failed_lines: dict[str, str] = {}  # custom_id -> why
        self._keys: dict[str, str] = {}  # custom_id -> cache key, for new requests
        self._counted: dict[str, int] = {}
        self._collected = 0  # requests of batches already collected in this wait
        self.usage: dict[str, Any] = {"provider": provider, "batches": [], "requests": 0,
                                      "succeeded": 0, "failed": 0, "prompt_tokens": 0,
                                      "completion_tokens": 0, "cost_usd_list_price": 0.0}

    # -- resume ---------------------------------------------------------------------------------

    def resume_from(self, rows: list[dict[str, Any]]) -> None:
        """Batches submitted by an earlier run and not collected yet; usage of collected ones."""
        submitted: dict[str, Pending] = {}
        for row in rows:
            if "batch" in row:
                b = row["batch"]
                submitted[b["id"]] = Pending(b["id"], b["provider"], dict(b["requests"]),
                                             b.get("model", ""), dict(b.get("counted", {})))
            elif "batch_done" in row:
                done = row["batch_done"]
                submitted.pop(done["id"], None)
                self._add_usage(done.get("usage") or {}, done["id"])
                self.failed_lines.update(done.get("failed") or {})
        self.pending = [p for p in submitted.values() if p.provider == self.provider]
        others = [p for p in submitted.values() if p.provider != self.provider]
        if others:
            raise ValueError(f"--batch {self.provider}: the partial results hold batch "
                             f"{others[0].id} from --batch {others[0].provider}; rerun with "
                             "that, or delete the partial file to start over")

    # -- the phase ------------------------------------------------------------------------------

    def execute(self, todo: list[Task], sink: IO[str], progress: bool) -> None:
        cache = self.run.cache
        assert cache is not None
        covered = {cid for p in self.pending for cid in p.requests}
        requests = self._capture([t for t in todo if custom_id(t) not in covered])
        if requests:
            self._submit(requests, sink)
        if self.pending:
            self._wait(sink, progress)
        # The scoring pass reads what the batch stored. Misses (re-asks, failed lines) go to the
        # endpoint, or fail their task when failures are reported.
        cache.mode = "replay" if self.failures == "report" else "live"

    def _capture(self, tasks: list[Task]) -> list[BatchRequest]:
        """The judge's first request of each task, without sending it; cached ones skipped
        (unless recording), identical requests sent once."""
        from agent.judge import LLMJudge
        from agent.model.batch import BatchRequest, Captured, RequestCapture

        run = self.run
        cache = run.cache
        assert cache is not None
        judges = [LLMJudge(cast("ModelClient", RequestCapture(c)), run.rubrics)
                  for c in run.clients]
        seen: set[str] = set()
        out: list[BatchRequest] = []
        for task in tasks:
            item: Interview = run._by_id[task[0]]
            case: Case = run.cases[item.case]
            try:
                judges[task[2]].score_step(case, task[1], step_turns(item, task[1]),
                                           told_before(item, task[1], case))
            except Captured as c:
                key, body = c.key, c.body
            else:
                raise RuntimeError("--batch: the judge made no model call to capture; batch "
                                   "mode does not know this judge")
            if key in seen or (cache.mode != "record" and cache.contains(key)):
                continue
            seen.add(key)
            cid = custom_id(task)
            self._keys[cid] = key
            self._counted[cid] = tokens.count_messages(body["messages"])
            out.append(BatchRequest(cid, body))
        return out

    def _submit(self, requests: list[BatchRequest], sink: IO[str]) -> None:
        from agent.model.batch import MAX_BYTES, split

        line = getattr(self.api, "line", lambda r: r.body)
        groups = split(requests, line, MAX_BYTES[self.provider])
        name = self.run.dataset.name
        for n, group in enumerate(groups, 1):
            label = f"interviewer eval {name} ({n}/{len(groups)}, {len(group)} judge calls)"
            bid = self.api.submit(group, label=label)
            pending = Pending(bid, self.provider, {r.custom_id: self._keys[r.custom_id]
                                                   for r in group},
                              str(group[0].body.get("model", "")),
                              {r.custom_id: self._counted[r.custom_id] for r in group})
            self.pending.append(pending)
            sink.write(json.dumps(pending.row()) + "\n")
            sink.flush()  # the batch is paid for: its id must survive anything from here on

    def _wait(self, sink: IO[str], progress: bool) -> None:
        total = sum(len(p.requests) for p in self.pending)
        ids = ", ".join(p.id for p in self.pending)
        bar = Progress("eval run", total, unit="batch requests", quiet=not progress)
        with bar:
            bar.update(status=f"{self.provider} batch {ids}")
            while self.pending:
                statuses = [self.api.status(p.id) for p in self.pending]
                states = sorted({s.state for s in statuses})
                bar.update(completed=sum(s.completed + s.failed for s in statuses)
                           + self._collected, failed=sum(s.failed for s in statuses),
                           status=f"{self.provider} batch {'/'.join(states)}")
                for pending, status in zip(list(self.pending), statuses, strict=True):
                    if status.done:
                        self._collect(pending, status, sink)
                if self.pending:
                    time.sleep(self.poll_s)

    def _collect(self, pending: Pending, status: Any, sink: IO[str]) -> None:
        """Store every reply of a finished batch in the cache; note the failed lines."""
        lines: list[BatchLine] = self.api.results(status)
        by_id = {line.custom_id: line for line in lines}
        failed: dict[str, str] = {}
        usage: dict[str, Any] = {"requests": len(pending.requests), "succeeded": 0, "failed": 0,
                                 "prompt_tokens": 0, "completion_tokens": 0,
                                 "cost_usd_list_price": 0.0}
        prices = self.run.prices
        cache = self.run.cache
        assert cache is not None
        for cid, key in pending.requests.items():
            line = by_id.get(cid)
            content = _content(line.response) if line and line.response else None
            if content is None:
                why = (line.error if line and line.error else
                       f"no reply in the batch's output (batch {status.state}"
                       + (f": {status.error}" if status.error else "") + ")")
                failed[cid] = why
                continue
            assert line is not None and line.response is not None
            reported = line.response.get("usage") or {}
            prompt = int(reported.get("prompt_tokens") or 0)
            completion = int(reported.get("completion_tokens") or 0)
            counted = pending.counted.get(cid, prompt)
            cache.store(key, json.dumps({"content": content, "usage": {
                "prompt": prompt or counted, "counted": counted,
                "completion": completion or tokens.count(content)}}),
                f"judge call to {pending.model} (batch {pending.id}; {cid})")
            usage["succeeded"] += 1
            usage["prompt_tokens"] += prompt
            usage["completion_tokens"] += completion
            price = cost(prices, pending.model, prompt, completion)
            usage["cost_usd_list_price"] = None if price is None or usage[
                "cost_usd_list_price"] is None else usage["cost_usd_list_price"] + price
        usage["failed"] = len(failed)
        sink.write(json.dumps({"batch_done": {"id": pending.id, "state": status.state,
                                              "error": status.error, "failed": failed,
                                              "usage": usage}}) + "\n")
        sink.flush()
        self.failed_lines.update(failed)
        self._add_usage(usage, pending.id)
        self._collected += len(pending.requests)
        self.pending.remove(pending)
        if status.state != "completed" or failed:
            what = "retried live" if self.failures == "live" else "reported as failed"
            sys.stderr.write(f"eval run: batch {pending.id} {status.state}: "
                             f"{usage['succeeded']} of {len(pending.requests)} replies, "
                             f"{len(failed)} failed or unanswered ({what})\n")

    def _add_usage(self, usage: dict[str, Any], batch_id: str) -> None:
        u = self.usage
        u["batches"].append(batch_id)
        for k in ("requests", "succeeded", "failed", "prompt_tokens", "completion_tokens"):
            u[k] += int(usage.get(k) or 0)
        c = usage.get("cost_usd_list_price")
        u["cost_usd_list_price"] = None if c is None or u["cost_usd_list_price"] is None else (
            round(u["cost_usd_list_price"] + float(c), 6))

    def failure_of(self, task: Task) -> str | None:
        """Why the batch did not answer this task (report mode fails it with this)."""
        return self.failed_lines.get(custom_id(task))

    def interrupted(self) -> str:
        """What to tell the user on Ctrl-C while batches are pending."""
        ids = ", ".join(p.id for p in self.pending)
        return (f"batch {ids} ({self.provider}) is still running at the provider and is kept "
                f"in {self.run.partial_path()}; rerun the same command to collect its results "
                "(delete that file to start over: the batch is not cancelled)")


def _content(response: dict[str, Any]) -> str | None:
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) and content.strip() else None
