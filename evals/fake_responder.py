"""A scripted "model" for the loopback fake endpoint that understands interviewer's prompts.

The fake endpoint's default echo model fills any JSON schema with plausible values; this
responder goes further for our own requests, so end-to-end runs against loopback behave like an
interview: fact selection picks topics the question names, assessment marks short answers
unmet, clarify replies read back the facts given, follow-ups rephrase the probe. It only reads
the request body, exactly as a real model would. Anything it does not recognise falls back to
the echo model (return None).
"""

from __future__ import annotations

import json
import re
from typing import Any

_BLOCK = r"<{0}>\s*(.*?)\s*</{0}>"


def _block(text: str, tag: str) -> str | None:
    m = re.search(_BLOCK.format(tag), text, re.DOTALL)
    return m.group(1) if m else None


def _texts(body: dict[str, Any], roles: tuple[str, ...] = ("system", "user", "assistant")
           ) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages") or []
                     if m.get("role") in roles)


def _schema_title(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        return str(spec.get("name") or (spec.get("schema") or {}).get("title") or "") or None
    if fmt.get("type") == "json_object":
        raw = _block(_texts(body), "json_schema")
        if raw:
            try:
                return str(json.loads(raw).get("title") or "") or None
            except ValueError:
                return None
    return None


def _items(block: str | None) -> list[tuple[str, str]]:
    out = []
    for line in (block or "").splitlines():
        m = re.match(r"\s*-\s*([^:]+):\s*(.*)", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def interviewer_responder(body: dict[str, Any]) -> str | dict[str, Any] | None:
    text = _texts(body)
    # System prompts mention "<candidate> tags" in prose; the fenced text is in user messages.
    user = _texts(body, ("user",))
    candidate = _block(user, "candidate") or ""
    title = _schema_title(body)
    if title == "FactSelection":
        words = set(re.findall(r"[a-z0-9]+", candidate.lower()))
        picked = []
        for fid, topic in _items(_block(text, "topics")):
            keys = {w for w in re.findall(r"[a-z0-9]+", (fid + " " + topic).lower())
                    if len(w) >= 4} | set(fid.split("_"))
            if keys & words and "?" in candidate:
                picked.append(fid)
        assumes = bool(re.search(r"assum|summari", candidate, re.I)) and "?" not in candidate
        return {"topic_ids": picked[:3], "states_assumptions": assumes}
    if title == "AssessmentOut":
        status = "met" if len(candidate) >= 250 else "unmet"
        # A long answer is deepened on its first sentence, quoted word for word.
        first = re.split(r"(?<=[.!?])\s+", candidate.strip())[0] if candidate.strip() else ""
        deepen = status == "met" and len(first.split()) >= 3
        return {"criteria": [{"id": cid, "status": status}
                             for cid, _ in _items(_block(text, "criteria"))],
                "reaction": "deepen" if deepen else "probe_gap",
                "quote": " ".join(first.split()[:20]) if deepen else ""}
    if title == "JudgeOut":
        rubric = _block(text, "rubric") or ""
        said = " ".join(re.findall(r"<candidate>\s*(.*?)\s*</candidate>", user, re.DOTALL))
        sentences = [x.strip() for x in re.split(r"(?<=[.!?])\s+|\n+", said) if len(x) > 12]
        # Longer, more specific answers earn higher levels: crude but deterministic.
        level = 1 if not sentences else min(4, 1 + len(said) // 250)
        out = []
        for i, cid in enumerate(re.findall(r"-\s*id:\s*(\S+)", rubric)):
            quotes = [sentences[i % len(sentences)]] if sentences and level > 1 else []
            out.append({"id": cid, "level": level, "rationale": "Judged on length and detail.",
                        "quotes": quotes})
        return {"criteria": out}
    if title is not None:
        return None
    facts = _block(text, "facts")
    if facts:
        return " ".join(answer for _, answer in _items(facts)) or None
    probe = _block(text, "probe")
    if probe:
        return probe.strip()
    return None
