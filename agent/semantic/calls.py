"""Bad calls stated confidently: targets and trade-offs no serious answer would set.

A sentence that accepts a large loss on a counter-metric (cost per request up by half, a
double-digit error or timeout rate, quality down by several points, losing a quarter of the
customers), or that makes the mean the latency goal, earns no credit and is named in the
step's notes. Small, bounded concessions ("a few percent more cost for the warm pool") are the
trade-offs the rubric asks for and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from agent.semantic.numbers import words_to_numbers
from agent.signals import first_match

_ACCEPT = (r"\b(?:accept\w*|allow\w*|tolerat\w*|comfortable|fine with|ok(?:ay)? with|"
           r"can flex|let (?:it|them|cost|costs|quality)|happy to|willing to|even if|"
           r"rising|rise|go(?:es)? up|increas\w*|doubl\w*|tripl\w*|up to|drop\w*|los\w*|fall\w*)")
#: (what goes wrong, pattern): each pattern looks for a large loss accepted or aimed at.
_BAD: tuple[tuple[str, re.Pattern[str]], ...] = tuple((why, re.compile(p, re.IGNORECASE)) for
                                                       why, p in (
    ("accepts a much higher cost", _ACCEPT + r"[^.;]{0,50}\b(?:cost|price|spend|bill)\w*[^.;]{0,30}"
     r"(?:\b(?:[3-9]\d|\d{3,})\s*%|\bdoubl\w*|\btripl\w*|\b[2-9]x\b)"),
    ("accepts a much higher cost", r"\b(?:cost|price|spend|bill)\w*(?: per \w+)?[^.;]{0,25}\b"
     r"(?:ris\w*|go(?:es|ing)? up|increas\w*|grow\w*)\b[^.;]{0,15}(?:\b(?:[3-9]\d|\d{3,})\s*%|"
     r"\bdoubl\w*|\b[2-9]x\b)"),
    ("accepts a much higher cost", r"\b(?:cost|price|spend|bill)\w*(?: per \w+)?\s+doubl\w*"),
    ("sets an error or timeout rate no customer accepts",
     r"\b(?:error|timeout|time-out|failure|failed|drop)\w*(?: rate)?[^.;]{0,40}"
     r"(?:\bup to|\bunder|\bbelow|\bof|\bat|\baround|\babout|\bbe|\bstay\w*)\s+"
     r"(?:[5-9]|[1-9]\d)(?:\.\d+)?\s*%"),
    ("accepts a large quality drop", r"\b(?:quality|accuracy|precision|eval\w*|score)\w*[^.;]{0,40}"
     r"\b(?:drop|fall|flex|slip|lose|loss|decline|degrad)\w*[^.;]{0,25}(?:\b(?:[3-9]|[1-9]\d)"
     r"(?:\.\d+)?\s*(?:points?|%|pp)\b|\b(?:a few|several|some|many) points\b)"),
    ("accepts a large quality drop", _ACCEPT + r"[^.;]{0,30}\b(?:quality|accuracy)\b[^.;]{0,30}"
     r"\b(?:drop|fall|flex|loss|lower|worse)\w*\b(?![^.;]{0,20}\b(?:[0-2](?:\.\d+)?\s*(?:points?|"
     r"%)|a point|one point|half a point))"),
    ("accepts losing many customers", r"\b(?:accept\w*|fine with|ok(?:ay)? with|happy to)\b"
     r"[^.;]{0,30}\b(?:los\w*|churn\w*)\b[^.;]{0,30}(?:\b(?:[2-9]\d)\s*%|quarter|third|half)"),
    ("makes the mean the latency goal", r"\b(?:average|mean)\b[^.;]{0,30}\b(?:latency|response "
     r"time|processing time|end-to-end)\b[^.;]{0,60}\b(?:goal|target|success|measure\w*|track|"
     r"metric|north star|bring|down|halve|cut|is what)\b"),
    ("dismisses the tail", r"\b(?:p9\d|tail|percentiles?)\b[^.;]{0,40}\b(?:noise|pathological|"
     r"outliers? (?:only|don't)|misleading|vanity|doesn't matter|don't matter)"),
))


#: Calls that are wrong whatever the case, in the steps where they are plans (step, why, pattern).
_WRONG: tuple[tuple[frozenset[str], str, re.Pattern[str]], ...] = tuple(
    (frozenset(steps.split()), why, re.compile(p, re.IGNORECASE)) for steps, why, p in (
        ("diagnose prioritize", "ranks one cause with nothing behind it",
         r"\b(?:there(?:'s| is)(?:n't| not)? (?:no |a )?|(?:with )?no |nothing |isn't a )"
         r"(?:strong |credible |close |real |serious |plausible )?(?:second|runner-up)\b|"
         r"\bnothing (?:else )?close behind\b|\bfull stop\b|\bno other (?:explanation|cause)\b"),
        ("clarify", "makes the mean the latency goal",
         r"\b(?:objective|target|goal|work to|optimi[sz]e for)\b[^.;]{0,40}\b(?:average|mean)\b"
         r"|\b(?:average|mean)\b[^.;]{0,40}\b(?:latency|response time)\b[^.;]{0,30}\b(?:objective|"
         r"target|goal)\b"),
        ("goals validate", "makes the mean the latency goal",
         r"\b(?:average|mean)\b[^.;]{0,40}\b(?:latency|response time|processing time|"
         r"end-to-end)\b|\b(?:latency|response time)\b[^.;]{0,40}\b(?:an? |the )(?:average|mean)"
         r"\b|\b(?:average|mean) of \d+\s*ms\b"),
        ("solutions", "rolls out to everyone at once",
         r"\b(?:roll\w*|switch\w*|mov\w*|ship\w*|cut\w* over|deploy\w*|publish\w*)\b[^.;]{0,40}"
         r"\b(?:all (?:of )?(?:their |our |the )?(?:traffic|customers|users)|(?:the )?full "
         r"(?:traffic|nightly job|fleet|job)|at once|in one go|across the board|platform-wide)"),
        ("goals prioritize solutions", "claims there is no trade-off",
         r"\b(?:giving up|give up|sacrific\w*|trad\w* off|los(?:e|ing)|cost(?:s)? us) (?:nothing|"
         r"little)\b|\b(?:free of risk|risk-free|no risk|zero risk|without any risk)\b|"
         r"\bno (?:real |meaningful )?trade-?offs?\b"),
        ("solutions", "plans nothing past the quick fix",
         r"\b(?:no|don't see a|nothing further)\b[^.;]{0,30}\b(?:longer-term|long-term|roadmap|"
         r"platform investment|needed)\b|\bover-engineering\b"),
        ("clarify diagnose prioritize", "ranks the work by who complains loudest",
         r"\b(?:rank\w*|priorit\w+|order\w*|sequenc\w*|decid\w*)\b[^.;]{0,40}\bby (?:who(?:ever)?|"
         r"which (?:customers?|accounts?))\b(?: is| are)?[^.;]{0,15}\b(?:shout\w*|loud\w*|"
         r"escalat\w*|complain\w*|nois\w*|vocal)|"
         r"\bloudest (?:voice|customer|account)s?\b[^.;]{0,60}\b(?:roadmap|priorit\w*|first|top)\b|"
         r"\b(?:is|are) the loudest\b[^.;]{0,30}\b(?:so|go(?:es)? to the top|first)\b|"
         r"\b(?:priority|roadmap) (?:is|goes to) the loud(?:est)?\b|"
         r"\b(?:nobody|no one|no-one)(?: is)? (?:shouting|yelling|escalating)\b[^.;]{0,30}"
         r"\b(?:can't|cannot|isn't|is not|won't)\b[^.;]{0,15}\burgent"),
        ("goals validate", "measures success by vanity metrics",
         r"\b(?:know|measur\w*|track\w*|count\w*|judg\w*|success|worked|show\w*|look at)\b"
         r"[^.;]{0,60}\b(?:page ?views?|sign-?ups?|social(?: media)? mentions?|mentions on social|"
         r"time (?:spent )?(?:on|in) (?:the )?(?:site|page|\w+ dashboard|dashboard|product)|"
         r"share(?:-button)? clicks|press (?:release|coverage)|testimonials?|"
         r"blog(?: post)? traffic)\b"),
        ("solutions validate", "skips validation",
         r"\b(?:no|never|wouldn't|won't|don't|not|skip|no need for|no reason to)\b"
         r"(?:\s+[\w/-]+){0,4}?\s+(?:canary|canaries|a/?b\b|evals?\b|eval suite|golden eval|"
         r"rollback|stag\w+|shadow|parallel run|side by side|pilot)|\b(?:canary|rollback|a/b)"
         r"[^.;?]{0,20}[?]?\s*(?:not needed|unnecessary|overkill)\b|"
         r"\b(?:customers?|they)(?:'ll| will) tell us\b"),
    ))
#: A hypothesis dismissed outright ("caching won't help", "idle capacity: not a factor").
DISMISSAL = re.compile(
    r"\b(?:rule[sd]? (?:it |that |this )?out|won't help|will not help|(?:is|are)(?:n't| not) a "
    r"factor|not a factor|irrelevant|(?:is|are)(?:n't| not) the (?:issue|problem|story|bottleneck)"
    r"|unlikely to be the (?:story|issue|cause)|(?:is|are)(?:n't| not) in the picture|"
    r"barely matters?|(?:is|are) noise|"
    # ... or softly, in a calm voice ("a small part of it", "a secondary detail", "a symptom"),
    # unless the soft word is itself negated ("not a small part of it")
    r"(?<!not )(?<!not a )(?<!n't )(?<!n't a )(?<!never )(?<!never a )(?:(?:a |only a |just a |"
    r"fairly )?(?:small|minor) (?:part|piece|factor|contributor)|(?:a |just a |only a )?secondary "
    r"(?:detail|issue|factor|concern)|(?:a |just a |only a )symptom|treats? the symptom|"
    r"nice[- ]to[- ]haves?|(?:a )?red herring|(?:a )?distraction|(?:a )?side issue|"
    r"(?:a )?sideshow))\b", re.IGNORECASE)
#: ... but not a negated validation that is itself the good practice ("never ship without").
_SAFE = re.compile(r"\b(?:never|not|don't|won't|wouldn't)\b[^.;]{0,30}\bwithout\b", re.IGNORECASE)


@lru_cache(maxsize=8192)
def bad_call(sentence: str) -> str | None:
    """Why this sentence is a bad call (see the module docstring), or None."""
    text = words_to_numbers(sentence)
    for why, pattern in _BAD:
        if pattern.search(text):
            return why
    return None


def dismisses_clue(sentence: str, clues: Sequence[Sequence[str]]) -> bool:
    """The sentence dismisses a cause outright, and what it dismisses is a clue: a cause the
    case's facts point to (``clues``: each clue fact's keyword patterns)."""
    m = DISMISSAL.search(sentence)
    return m is not None and any(first_match(tuple(k), sentence) for k in clues)


@lru_cache(maxsize=8192)
def wrong_call(sentence: str, step: str) -> str | None:
    """Why this sentence, in this step, is a bad call or a call no serious answer makes (the
    mean as the latency goal, one cause with nothing behind it, everything switched at once,
    validation skipped), or None."""
    why = bad_call(sentence) if step != "clarify" else None  # clarify states constraints
    if why is not None:
        return why
    text = words_to_numbers(sentence)
    if _SAFE.search(text):
        return None
    for steps, why, pattern in _WRONG:
        if step in steps and pattern.search(text):
            return why
    return None
