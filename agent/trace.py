"""``interviewer trace``: a session's model calls, with latency percentiles, tokens and cost."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from agent.model.errors import clip
from agent.prices import cost

#: Outcomes of calls whose reply could not be used (see agent/model/client.py CallRecord).
FAILED = ("error", "invalid", "rejected", "slow", "truncated")


def summarise(calls: list[dict[str, Any]], prices: dict[str, tuple[float, float]]
              ) -> dict[str, Any]:
    lat = np.array([c["latency_ms"] for c in calls if not c["cached"]], dtype=float)
    costs = [cost(prices, c["model"], c["prompt_tokens"], c["completion_tokens"]) for c in calls]
    known = [x for x in costs if x is not None]
    by_purpose: dict[str, int] = {}
    for c in calls:
        by_purpose[c["purpose"]] = by_purpose.get(c["purpose"], 0) + 1
    return {
        "calls": len(calls),
        "by_purpose": by_purpose,
        "failed": sum(1 for c in calls if c["outcome"] in FAILED),
        "fallbacks": sum(1 for c in calls if (c["error"] or "").startswith("fallback")),
        "retries": sum(int(c["retries"]) for c in calls),
        "latency_ms": {
            f"p{q}": (round(float(np.percentile(lat, q)), 1) if lat.size else None)
            for q in (50, 95, 99)
        },
        "prompt_tokens": sum(int(c["prompt_tokens"]) for c in calls),
        "completion_tokens": sum(int(c["completion_tokens"]) for c in calls),
        "cost_usd": round(sum(known), 6) if known else (0.0 if not calls else None),
        "cost_note": None if len(known) == len(costs) else
        f"{len(costs) - len(known)} calls use a model with no price (add it with --prices)",
    }


def rows(calls: list[dict[str, Any]], prices: dict[str, tuple[float, float]]
         ) -> list[dict[str, Any]]:
    out = []
    for c in calls:
        out.append({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(c["ts"])),
            "purpose": c["purpose"], "model": c["model"], "prompt_hash": c["prompt_hash"],
            "prompt_tokens": c["prompt_tokens"], "completion_tokens": c["completion_tokens"],
            "latency_ms": round(c["latency_ms"], 1), "retries": c["retries"],
            "outcome": c["outcome"], "error": c["error"], "cached": bool(c["cached"]),
            "cost_usd": cost(prices, c["model"], c["prompt_tokens"], c["completion_tokens"]),
        })
    return out


def render_text(sid: str, table: list[dict[str, Any]], summary: dict[str, Any],
                endpoint: str | None = None) -> str:
    if not table:
        return (f"session {sid}: no model calls (offline sessions make none)\n")
    # Prompt hashes are shown whole ("judge_system:…+judge:…" is longer than the others).
    hw = max(len("prompt hash"), *(len(r["prompt_hash"]) for r in table))
    lines = [f"{'time':<19} {'purpose':<11} {'model':<22} {'prompt hash':<{hw}} {'in':>6} "
             f"{'out':>5} {'ms':>8} {'retry':>5}  outcome"]
    for r in table:
        lines.append(
            f"{r['time']:<19} {r['purpose']:<11} {r['model'][-22:]:<22} "
            f"{r['prompt_hash']:<{hw}} {r['prompt_tokens']:>6} {r['completion_tokens']:>5} "
            f"{r['latency_ms']:>8.1f} {r['retries']:>5}  {r['outcome']}")
        if r["error"]:  # whole (within a bound), on a line of its own: never cut mid-word
            lines.append(f"{'':<19} ↳ {clip(r['error'])}")
    lat = summary["latency_ms"]
    cost_txt = "unknown" if summary["cost_usd"] is None else f"${summary['cost_usd']:.4f}"
    purposes = ", ".join(f"{k} {v}" for k, v in summary["by_purpose"].items())
    fell = summary.get("fallbacks", 0)
    lines += [
        "",
        f"{summary['calls']} calls ({purposes}); {summary['failed']} failed; "
        f"{summary['retries']} retries"
        + (f"; {fell} replaced by the standard text (fallback)" if fell else ""),
        f"latency p50 {lat['p50']} ms · p95 {lat['p95']} ms · p99 {lat['p99']} ms",
        f"tokens: {summary['prompt_tokens']:,} prompt + {summary['completion_tokens']:,} "
        f"completion · estimated cost {cost_txt}",
    ]
    if summary["cost_note"]:
        lines.append(summary["cost_note"])
    if endpoint:
        lines.append(f"endpoint: {endpoint}")
    return "\n".join(lines) + "\n"
