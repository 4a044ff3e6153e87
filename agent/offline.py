"""Offline interviewing: authored probes, fact-sheet keyword matching, rubric-signal coverage.

Deterministic and instant; used when no model is configured (and as the eval baseline).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from itertools import pairwise

from agent.cases import Case, Fact
from agent.policy import Assessment, ClarifyReply, Speaker, Status
from agent.prompts import script
from agent.rubrics import Criterion, Rubric
from agent.signals import LIST_ITEM, sentences
from agent.state import Turn

# Phrases that state assumptions, play the problem back or say the candidate is ready to move
# on. Matched per sentence; a sentence that is itself a question never counts (see below).
_ASSUMES = re.compile(
    r"\b(?:"
    # I assume / we'll assume / I'm going to assume / let's assume / we can assume
    r"(?:i|we)(?:'ll|'d|'m|'re| will| would| am| are| can| could| shall)?"
    r"(?: going to| gonna| just| simply| also| probably| then)?\s+assume"
    r"|(?:i|we)(?:'m|'re| am| are)(?: just| also)? assuming"
    r"|let(?:'s| us| me)(?: just)? assume"
    r"|assuming\b(?! (?:you|we|i) (?:mean|meant)\b)"
    r"|assume (?:that|it'?s|this|they|we|the|a|an)\b"
    r"|(?:my|our|working|key|main|the|with these|those|these|some|few) assumptions?"
    r"|assumptions?\s*[:\-—–]"
    # an imperative heading or opening: "Assume: inference only, ...", "Assume inference only."
    r"|assume\s*[:\-—–]|(?<![\w'’ ,])assume\s+(?!(?:you|we|i)\b)"
    # "Presumably splitting one model over several servers is already solid" (trial 11)
    r"|(?<![\w'’ ,])presumably\b"
    r"|working (?:picture|frame|hypothesis|understanding|model)"
    r"|(?:to|in|let me|let's|lets|i'll|i will|so to|quickly) (?:summari[sz]e|sum up|recap|restate)"
    r"|in summary|in short|to be clear on scope"
    r"|(?:summary|recap|playback|play-?back)\s*(?:[:\-—–]|before|so|then|of what)"
    r"|(?:play|read|say)(?:ing)? (?:it|that|this|everything)(?: all)? back"
    r"|(?:here's|here is|so) (?:my|the) (?:frame|picture|summary|understanding|read|playback)"
    r"|my (?:frame|picture|understanding|read) (?:is|then)"
    r"|(?:i'?ll|i will|i'?m going to|i am going to|let me|let's|lets) (?:take|treat|go with|"
    r"work with|proceed with|run with|work from|frame) (?:it|this|that|the|as)\b"
    r"|(?:let me|let's|lets|i'?ll|i will|we can|ready to|i'?m ready to|happy to) "
    r"(?:move on|dig in|dive in|get into it|get going|get started|proceed|start (?:the|on the) "
    r"diagnos\w*|jump in)"
    r"|(?:let's|lets|let us) (?:go|start|begin|do it|do this)\s*[.!]*\s*$"
    r"|(?:that's|that is|this is|i have|i've got|i got|i think i have|i think that's|that "
    r"should be|should be) enough\b"
    r"|i think i (?:get it|have it|have what i need|understand|'ve got it)"
    r"|(?:i'?ve|i have) got (?:it|what i need)"
    r")",
    re.IGNORECASE,
)
# A playback that opens with "So:", "OK, so ..." or "Goal: ..." and asks nothing.
_PLAYBACK = re.compile(
    r"^\s*(?:ok(?:ay)?|alright|all right|right|got it|cool|great)[,.]?\s+so\b(?! that\b| far\b)"
    r"|^\s*so\s*[:—–]"
    r"|^\s*(?:goals?|targets?|constraints?|north star|success|scope|framing|problem|"
    r"problem statement|bottom line|the ask|priorit(?:y|ies))\s*[:—–]",
    re.IGNORECASE)
# "So cost is the goal." plays back too, but "So, latency target" is still a bare question.
_SO = re.compile(r"^\s*so\b(?! that\b| far\b)", re.IGNORECASE)
# A check-in after a playback ("Is that right?", "Anything I'm missing?", "Correct me if any of
# that is off."): it asks for confirmation, not for a fact.
_TAG = re.compile(
    r"^\s*(?:(?:and|so|ok(?:ay)?)[,\s]+)?(?:"
    r"(?:is|does|do|did|would|has)\s+(?:that|this|all (?:of )?that|everything)\s+(?:all\s+)?"
    r"(?:sound\s+)?(?:right|correct|accurate|fair|match\w*|hold|make sense|line up|land|"
    r"capture it|square|track|seem right|look right|about right)\b(?!\s+to\b)"
    r"|(?:am i|have i|did i|do i|are we)\s+(?:missing|missed|off|wrong|right|on track|"
    r"getting|got)\b"
    r"|anything\s+(?:else\s+|important\s+|big\s+)?(?:i'?m|i'?ve|i have|i am|we'?re|i)\s+"
    r"(?:\w+\s+)?(?:missing|missed|got wrong|wrong|overlooking|overlooked|forgetting)\b"
    r"|(?:sounds?|looks?|seems?)\s+(?:right|good|fair|ok(?:ay)?|about right|reasonable)"
    r"|(?:fair|right|correct|agreed|ok(?:ay)?|make sense|reasonable|accurate)\s*\??\s*$"
    r"|(?:correct|stop|tell|push back on|let)\s+me\b[^?]{0,15}\bif\b|push back if|shout if"
    r")",
    re.IGNORECASE,
)

# Lead-ins that may precede a question word: "And what...", "OK, so how...", "Last one: who...".
_LEAD = (r"^\s*(?:(?:and|also|so|ok(?:ay)?|um+|uh+|right|then|next|alright|well|first(?:ly)?|"
         r"second(?:ly)?|finally|lastly|last one|one more|two more|but|oh|now|great|thanks|"
         r"cool|got it|quick (?:one|question)|sorry)\b[\s,:;.—–-]*)*")
_ASKS = re.compile(
    _LEAD + r"(?:what|what's|whats|who|who's|whos|how|how's|is|isn't|are|aren't|was|were|do|"
    r"does|did|don't|doesn't|can|could|would|will|should|which|where|where's|when|why|any|"
    r"tell me|i'?d like to know|i want to know|i'?m curious|i'?m wondering|could you|can you|"
    r"do we|do they|have|has|describe|explain|walk me through|give me|share|help me "
    r"understand|let me know|please (?:tell|share|describe|explain|clarify|confirm)|"
    r"clarify|confirm|curious)\b",
    re.IGNORECASE,
)
_ASKS_ANYWHERE = re.compile(
    r"\b(?:(?:like|want|need|hoping|trying) to (?:know|understand|clarify|confirm|check|"
    r"learn|hear)|wondering|curious (?:about|whether|if|how|what|why)|tell me|"
    r"(?:can|could) (?:you|we) (?:clarify|confirm|share|explain|describe)|"
    r"clarify (?:whether|if|what|how|who|which|the)|confirm (?:whether|if|what|how|which|the)|"
    r"understand (?:whether|if|what|how|who|which)|need to know|not sure (?:whether|if|what|"
    r"how|who|which))\b",
    re.IGNORECASE,
)
# A question embedded in a list after a separator: "QPS at peak, and what p99 looks like".
_EMBEDDED = re.compile(r"(?:[,;:—–]\s*|\s-\s)(?:and |or |plus |also )?(?:what|how|whether)\b",
                       re.IGNORECASE)
# A sentence with its own subject and verb ("that's helpful", "the target is 500 ms", "we
# should cache it") is a statement; a bare fragment ("QPS and latency target") is not.
_CLAUSE = re.compile(
    r"\b(?:i|we|you|they|he|she)\b"
    r"|\blet(?:'s| me| us)\b"
    r"|\b(?:it|that|this|there|these|those|which)(?:'s|'re|'ve|'ll|'d|s| is| are| was| were|"
    r" has| have| had| will| would| can| could| should| seems?| looks?| sounds?| makes?)\b"
    r"|\b(?:is|are|was|were|am|isn't|aren't|wasn't|weren't|has|hasn't|have|haven't|had|"
    r"will|won't|would|wouldn't|can|can't|cannot|should|shouldn't|must|"
    r"seems?|sounds?|looks?|makes?|helps|helped)\b",
    re.IGNORECASE,
)
# Acknowledgements that carry no question on their own ("Thanks.", "Got it, makes sense.").
_ACK = re.compile(
    r"^\s*(?:(?:thanks|thank you|thx|ok(?:ay)?|k|cool|great|good|nice|perfect|right|alright|"
    r"all right|got it|gotcha|understood|noted|sure|yes|yeah|yep|no|nope|fine|fair enough|"
    r"interesting|awesome|excellent|helpful|super helpful|that helps|makes sense|"
    r"sounds good|clear|i see|ah|oh|hmm+|um+|uh+|wow|and|so|very|really|much|a lot|lots|"
    r"appreciate it)\b[\s,;:.!—–-]*)+$",
    re.IGNORECASE,
)
# A quantity stated as a value ("500 ms", "1,500 QPS", "$2M", "3x"): a fragment carrying one
# is an assertion ("Real-time, 500 ms p99."), not a question.
_QUANTITY = re.compile(
    r"(?:\$\s?\d|\b\d[\d,.]*\s*(?:ms|s|sec|secs|seconds?|minutes?|hours?|qps|rps|%|percent|"
    r"x|gb|tb|tokens?|gpus?|nodes?|requests?|users?|dollars?|million|billion|"
    r"thousand)(?!\w))",
    re.IGNORECASE,
)


def _is_tag(sentence: str) -> bool:
    return bool(_TAG.match(sentence))


def _is_ask(sentence: str) -> bool:
    if _is_tag(sentence):
        return False
    if "?" in sentence or _ASKS.match(sentence) or _ASKS_ANYWHERE.search(sentence):
        return True
    return bool(_EMBEDDED.search(sentence)) and not states_something(sentence)


def states_something(sentence: str) -> bool:
    """Whether a sentence states something of the candidate's own (an assumption, a play-back
    of what was told, a "So ..." conclusion) rather than only asking."""
    return bool(_ASSUMES.search(sentence) or _PLAYBACK.match(sentence)
                or (_SO.match(sentence) and _CLAUSE.search(sentence)))


#: Where a list of offered answers names its next one: a comma, "or", a slash.
_OFFER_SEP = re.compile(r"\s*(?:,\s*(?:or\s+)?|\s+or\s+|\s*/\s*)", re.IGNORECASE)


#: A question that only says what kind of answer the one before wants ("... quoted them half
#: price. Name?", "Exact number?").
_ANSWER_KIND = re.compile(
    r"^\W*(?:and\s+)?(?:the\s+|their\s+|its\s+|an?\s+)?(?:exact\s+|rough\s+|actual\s+)?"
    r"(?:name|names|number|figure|date|percentage|ballpark|which one|who|in dollars|in percent)"
    r"\s*\?+$", re.IGNORECASE)


def _offers_answers(sentence: str) -> bool:
    """Whether a sentence only offers answers to the question before it: two or more short
    items, no question word, a question mark ("Finance, procurement, their engineers?", "US,
    Europe, everywhere?")."""
    text = sentence.strip()
    if not text.endswith("?"):
        return False
    text = text.rstrip("?.! ")
    offered = [i for i in _OFFER_SEP.split(text) if i.strip()]
    return (len(offered) >= 2 and all(len(i.split()) <= 4 for i in offered)
            and not _WH_ITEM.match(text) and not _ASKS.match(text))


def _is_fragment_question(sentence: str) -> bool:
    """A short verbless fragment naming something to ask about ("QPS and latency target")."""
    text = sentence.strip().rstrip(".!").strip()
    if not text or _ACK.match(text) or _CLAUSE.search(text) or _QUANTITY.search(text):
        return False
    return not states_something(text) and len(text.split()) <= 10 and len(text) <= 120


def asks_something(clause: str) -> bool:
    """Whether a clause asks (a question, or a short fragment naming what to ask about) rather
    than states: "Their users are developers in the IDE," states."""
    return _is_ask(clause) or _is_fragment_question(clause)


def _stated(parts: Sequence[str]) -> bool:
    return any(states_something(s) and not _is_ask(s) for s in parts)


def states_assumptions(text: str) -> bool:
    """A message that states assumptions or plays the problem back (rather than asking)
    closes the clarify step: "I assume...", "Assumptions: ...", "Summary: ...", "OK, so ...",
    "Assuming X, let me move on", or a playback ending "Is that right?". A message whose last
    sentence asks something ("Should I assume X?") does not."""
    parts = sentences(text)
    if not parts or _is_ask(parts[-1]):
        return False
    if _stated(parts):
        return True
    # Statements followed by a check-in ("..., 500 ms p99. Is that right?") play back too.
    return _is_tag(parts[-1]) and any(
        not _is_ask(s) and not _ACK.match(s) for s in parts[:-1])


def _asked_clause(sentence: str) -> str:
    """The parts of a question that ask, with a stated assumption cut out: "Assuming it's
    real-time, what's the QPS?" asks only about QPS, and "Who are their users, and — assuming
    it's real-time — what's the peak QPS?" asks about both users and QPS (the question before
    the assumption is kept). An assumption with nothing after it ("Should I assume
    real-time?") is the question itself."""
    m = _ASSUMES.search(sentence)
    if not m:
        return sentence
    rest = re.split(r"[,;:—–]|\s-\s", sentence[m.end():], maxsplit=1)
    after = rest[1] if len(rest) == 2 and rest[1].strip(" ?.") else ""
    before = re.sub(r"[\s,;:—–-]*(?:and|or|but|so)?[\s,;:—–-]*$", "", sentence[:m.start()],
                    flags=re.IGNORECASE)
    if not after:
        return sentence
    return f"{before}, and {after.strip()}" if before.strip(" ,;:—–-") else after


#: A clause that sets something aside instead of asking it (probe clarify17): "Not the number
#: of tickets — I mean how many people answer them?", "Setting aside the bill, which I know is
#: the issue — ...", "I don't need our own price list — what have the others done?", "..., I
#: know what they're worth — ...". It opens a sentence or follows a clause boundary.
_SET_ASIDE = re.compile(
    r"(?:^|(?<=[,;:—–])|(?<=\s-))\s*(?:(?:so|and|but|ok(?:ay)?|look|well)[,\s]+)?(?:"
    r"not\b(?!\s+sure\b|\s+only\b)"
    r"|(?:i'?m|i\s+am|we'?re|we\s+are)\s+not\s+(?:asking|interested|talking|looking|after|"
    r"worried|concerned)\b"
    r"|(?:i|we)\s+(?:don'?t|do\s+not)\s+(?:need|want|mean|care)\b"
    r"|(?:setting|leaving|putting|keeping)\s+(?:aside\b|(?:[\w'’-]+\s+){1,6}?aside\b)"
    r"|(?:aside|apart)\s+from\b|other\s+than\b|besides\b|never\s?mind\b|ignoring\b"
    r"|(?:[\w'’$-]+\s+){1,3}aside\b(?=\s*[,;:—–])"
    r"|(?:i|we)\s+(?:already\s+)?(?:know|get|understand)\s+(?:that|what|how|who|it|this)\b)",
    re.IGNORECASE)
#: Where a set-aside clause ends: at a dash or a semicolon when there is one, else at a comma.
_STRONG_END = re.compile(r"\s*(?:[;—–]|\s-\s)\s*")
_COMMA_END = re.compile(r"\s*,\s*")


def without_set_aside(sentence: str) -> str:
    """The sentence without the clauses that set a subject aside or say it is already known
    (:data:`_SET_ASIDE`): those name a subject the question is *not* about. A sentence that
    would ask nothing without them is kept whole."""
    out = sentence
    for _ in range(4):
        m = _SET_ASIDE.search(out)
        if not m:
            break
        rest = out[m.end():]
        end = _STRONG_END.search(rest) or _COMMA_END.search(rest)
        if not end:
            break
        cut = f"{out[:m.start()].rstrip()} {rest[end.end():]}".strip()
        if not re.search(r"\w", rest[end.end():]):
            break
        out = cut
    return out if out != sentence and _is_ask(out) else sentence


def only_asks(message: str) -> bool:
    """Every sentence of the message asks something: it states no assumption at all."""
    parts = sentences(message)
    return bool(parts) and all(_is_ask(s) for s in parts)


def question_parts(message: str) -> list[str]:
    """The parts of a message that ask something. Statements (assumptions, playbacks,
    acknowledgements, check-ins like "Is that right?") are left out, so stating "I'll assume a
    500 ms target" reveals nothing the candidate did not ask. A short bare fragment ("QPS and
    latency target") still asks, unless the message is stating its assumptions. A terse list
    ("Revenue, share of our traffic, and renewal date?") asks each thing it names
    (:func:`terse_list`)."""
    parts = sentences(message)
    stated = _stated(parts)
    # A list of questions: when two or more of a message's lines are list items and one of them
    # asks, an item that states nothing asks too ("- tokens/day expected, and latency need per
    # context size" among "- which models?" lines).
    items = {s: LIST_ITEM.sub("", s) for s in parts if LIST_ITEM.match(s)}
    # fragments followed by a check-in ("- real-time chat, streaming ... is that right?") play
    # back: each is kept whole, not split as a terse list
    checked = any(_is_tag(LIST_ITEM.sub("", s)) for s in parts)
    listed = len(items) >= 2 and not stated and any(
        _is_ask(item) and not _is_tag(item) for item in items.values())
    out: list[str] = []
    whole = asked_q = False  # whether the last sentence asked one thing, kept whole; with "?"
    for s in parts:
        if whole and (_ANSWER_KIND.match(s.strip()) or (asked_q and _offers_answers(s))):
            # "Who's paying us for all this? Small shops, big companies, both?": the options
            # of the question before (stop 36), not three things asked.
            out[-1] = f"{out[-1]} {s}"
            continue
        item = items.get(s) if listed else None
        asked: list[str] = []
        if item is not None and "?" not in s and not states_something(s) \
                and not _QUANTITY.search(s) and not _ACK.match(item):
            # an item naming several things asks each ("deadline + who already serves it")
            out += [p for p in _ITEM_PARTS.split(item) if re.search(r"\w\w", p)]
        elif _is_ask(s):
            asked = terse_list(_asked_clause(without_set_aside(s)))
        elif not stated and not _is_tag(s) and _is_fragment_question(s):
            asked = [s] if checked else terse_list(s)
        out += asked
        whole, asked_q = len(asked) == 1, s.rstrip().endswith("?")
    return out


#: A heading before a terse list, at a dash or a colon: "Where's the long tail at — size,
#: revenue share, growth?", "Contracts: reserved share, renewals, finance deadline?".
_HEAD = re.compile(r"\s+[—–]\s*|\s+-\s+|:\s+")
#: Where a terse list names its next thing, outside brackets: a comma (", and", ", plus"), a
#: semicolon, "vs" / "versus", a slash with a space beside it ("Model / precision"; "tok/night"
#: is one thing). Not a bare "and": a short piece is split there when it is matched
#: (agent.clarify.select.split_questions), and a longer one joins one thing ("latency and
#: throughput trade-off they care about"). The groups name the word that joins the next item.
_TERSE_SEP = re.compile(
    r"\s*(?:,\s*(?:(and|plus|also)\b)?|;\s*(?:(and)\b)?|\s+(vs\.?|versus)(?!\w)"
    r"|\s+/\s*|\s*/\s+)\s*(?![^()]*\))", re.IGNORECASE)
#: An item that asks with a question word of its own ("where we are today", "who flagged it").
_WH_ITEM = re.compile(r"^(?:what|what's|whats|who|who's|whose|where|where's|when|which|how|"
                      r"how's|whether)\b", re.IGNORECASE)
#: A heading that asks a whole question of its own ("Where does the time go in a cold start:
#: download, waiting for a slot, loading?", "What GPU are the replicas on: H100s, L40S?"): the
#: list after it offers answers, it asks nothing.
_HEAD_ASKS = re.compile(r"\b(?:do|does|did|can|could|would|will|should|might|may|must)\b"
                        r"|^\W*(?:what|which|where)\s+(?:\w+\s+)?(?:are|is|was|were)\s+\w+(?:\s+\w+)*?"
                        r"\s+(?:on|in|from|using|running|located|based|hosted)\s*$",
                        re.IGNORECASE)
#: An item that opens with a pronoun has a subject and verb ("..., and it grow fast?").
_PRONOUN = re.compile(r"^(?:it|they|we|you|i|he|she|there|this|that|these|those)\b",
                      re.IGNORECASE)
_ITEM_FILLER = re.compile(r"^(?:and|also|plus|so|ok(?:ay)?|then|oh|um+|uh+)\b[\s,]*",
                          re.IGNORECASE)
_WH_ANYWHERE = re.compile(r"\b(?:what|who|where|when|which|how|whether)\b", re.IGNORECASE)
_VS = ("vs", "vs.", "versus")
_OR = re.compile(r"\bor\b", re.IGNORECASE)
_BE = re.compile(r"\b(?:is|are|was|were)\b|'(?:s|re)\b", re.IGNORECASE)
#: Words that say which value of a thing is asked (a statistic, a time, a trend, a measure)
#: without naming the thing: in a list, an item made of these alone ("the request rate,
#: average and peak") stays with the item before it. Not "target": a target is a fact of its
#: own beside today's value ("Warm vs cold latency, and the target?").
ASPECT_WORDS = frozenset({
    "average", "avg", "mean", "median", "typical", "peak", "peaks", "max", "maximum", "min",
    "minimum", "total", "overall", "today", "now", "current", "currently", "growth", "growing",
    "trend", "trends", "size", "count", "number", "share", "range", "roughly", "approximately",
    "ballpark", "once", "again"})
#: A list item names one thing in at most this many words ("share of our traffic"); measured
#: on the dev bank: 3 loses "share of our traffic" and "overhead of constrained decoding", 5
#: splits "How many request come in one second, normal time and busy time?" into three facts.
TERSE_WORDS = 4
#: An item with a question word of its own is this short at most ("What does it displace on
#: the roadmap").
WH_ITEM_WORDS = 8


def _names_a_thing(item: str) -> bool:
    """A list item: a short noun phrase ("renewal date", "eng cost") or a short question-word
    fragment ("where we are today"), stating nothing (no value, no assumption, no clause)."""
    if _QUANTITY.search(item) or _ASSUMES.search(item) or _PRONOUN.match(item):
        return False
    if _WH_ITEM.match(item):
        return len(item.split()) <= WH_ITEM_WORDS
    return len(item.split()) <= TERSE_WORDS and not _CLAUSE.search(item)


def terse_list(clause: str) -> list[str]:
    """A terse list of things asked in one breath, one part per thing; [clause] otherwise.

    "Revenue, share of our traffic, and renewal date?" asks three things, "TTFT target vs where
    we are today?" two, "What does it displace on the roadmap, and eng cost?" two: matched
    whole, the closest one or two facts drown the rest. Items are split at commas, "vs" /
    "versus", a spaced slash and semicolons (:data:`_TERSE_SEP`), when every item is short
    (:func:`_names_a_thing`) and at least one is not a question of its own (a list of
    questions is split where it is matched). After a heading ("Where's the long tail at —
    size, revenue share, growth?", "Our first attempt — throughput, TTFT?") each item keeps the
    heading's subject ("long tail: growth"), since "growth" alone names no subject.

    Not split: an either-or ("Which customers, startups or enterprises?"); a question after a
    plain comma, which is about the thing named before it ("Cold request, how many seconds?"),
    and a short addition to a question ("Who's doing this work, big teams?"); one word on a
    side of "vs" ("Warm vs cold latency"); an item that says only which value is asked
    (:data:`ASPECT_WORDS`: "the request rate, average and peak") stays with the item before
    it; a heading that asks a whole question ("Where does the time go: download, loading?",
    whose list offers answers) or is followed by a question or a choice. A bare "and" is left
    to the matcher: splitting there too changed no dev question's facts (clarify5)."""
    from agent.semantic.words import content_words

    text = clause.strip().rstrip("?.! ").strip()
    head = _HEAD.search(text)
    lead, body = (text[:head.start()].strip(), text[head.end():]) if head else ("", text)
    lead = re.sub(_LEAD, "", lead, flags=re.IGNORECASE).strip()  # "Last one: ...", "Also —"
    if lead and (_HEAD_ASKS.search(lead) or _PRONOUN.match(lead) or (
            _CLAUSE.search(lead) and not _WH_ITEM.match(_ITEM_FILLER.sub("", lead)))):
        return [clause]
    if re.search(r",\s*or\b", body, re.IGNORECASE):
        return [clause]
    pieces = _TERSE_SEP.split(body)  # text, then the separator's three groups, then text ...
    items: list[tuple[str, str]] = []  # (item, the word that joins it to the one before)
    joiner = ""
    for k in range(0, len(pieces), 4):
        item = _ITEM_FILLER.sub("", (pieces[k] or "").strip()).strip()
        if re.search(r"\w\w", item) and not _ACK.match(item):
            items.append((item, joiner))
        if k + 3 < len(pieces):
            joiner = next((g for g in pieces[k + 1:k + 4] if g), ",").lower()
    # "Warm vs cold latency", "cold TTFT vs warm": one word on a side of "vs" qualifies the
    # thing named on the other: one thing.
    for n in range(len(items) - 1, 0, -1):
        if items[n][1] in _VS and min(len(items[n - 1][0].split()), len(items[n][0].split())) == 1:
            items[n - 1:n + 1] = [(f"{items[n - 1][0]} vs {items[n][0]}", items[n - 1][1])]
    names = [i for i, _ in items]
    if len(names) < 2 or not all(_names_a_thing(i) for i in names):
        return [clause]
    questions = [i for i in names if _WH_ITEM.match(i)]
    if (len(questions) == len(names) and not any(j in _VS for _, j in items)) \
            or (questions and any(_OR.search(i) for i in names)):
        return [clause]
    if lead:
        if any(_HEAD_ASKS.search(i) or _BE.search(i) or _OR.search(i) for i in names):
            return [clause]
        subject = " ".join(content_words(lead))
        return [f"{subject}: {i}" for i in names] if subject else names
    # After a plain comma, a question is about the thing named before it ("Cold request, how
    # many seconds?", "LoRA or full fine-tunes, roughly what split?"), and a short addition to
    # a question qualifies it ("Who's doing this work, big teams?", "..., money-wise?").
    if any(joiner == "," and (_WH_ANYWHERE.search(i) or _WH_ITEM.match(before))
           for (before, _), (i, joiner) in pairwise(items)):
        return [clause]
    # An item that names no subject of its own ("the request rate, average and peak") keeps
    # the subject of the item before it.
    out: list[str] = []
    for item in names:
        if out and not _WH_ITEM.match(item) and set(content_words(item)) <= ASPECT_WORDS:
            out[-1] = f"{out[-1]}, {item}"
        else:
            out.append(item)
    return out if len(out) > 1 else [clause]


#: Where a list item that asks without a question mark names another thing: a comma (", and"),
#: a plus or a semicolon, outside brackets ("latency need (TTFT, tok/s)" is one thing).
_ITEM_PARTS = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s\+\s|;\s*)\s*(?![^()]*\))")


def matching_facts(case: Case, question: str) -> list[Fact]:
    """The facts a message asks about, judged by each fact's keyword patterns against only the
    parts of the message that ask something."""
    return facts_asked(case, question_parts(question))


def facts_asked(case: Case, parts: Sequence[str]) -> list[Fact]:
    """The facts the given question parts ask about (see question_parts), by keyword rules
    and meaning together; clue facts only when asked for directly (agent/clarify/select.py)."""
    from agent.clarify.select import select

    found = select(case, parts)
    if len(parts) < 2:
        return found
    # A question that leans on the one before it ("What latency have they been promised? And
    # what are they seeing today?") names no subject of its own: when it finds nothing alone,
    # it is read again with the earlier question's subject words.
    extra: list[Fact] = []
    for before, part in pairwise(parts):
        if _elliptical(part) and not select(case, [part]):
            extra += _leaning(case, before, part)
    if not extra:
        return found
    ids = {f.id for f in [*found, *extra]}
    return [f for f in case.facts if f.id in ids]


def _elliptical(part: str) -> bool:
    """Whether ``part`` names too little of its own to be read alone (see facts_asked)."""
    from agent.semantic.words import content_words

    return len(content_words(part)) <= ELLIPTICAL_WORDS


def _leaning(case: Case, before: str, part: str) -> list[Fact]:
    """What ``part``, elliptical and finding nothing alone, asks when it leans on the question
    ``before`` it (see facts_asked): read again with the earlier question's subject words."""
    from agent.clarify.select import PARAMS, select
    from agent.semantic.words import content_words

    own = content_words(part)
    carried = [w for w in content_words(before) if w not in own]
    # The carried words pull the text's meaning towards the earlier question's fact, so a
    # keyword hit on the part's own words may trail it as far as any hit did before stop 36
    # ("latency promised: And what are they seeing today?" hits today's latency 0.23 behind).
    leaning = dataclasses.replace(PARAMS, keyword_behind=max(PARAMS.keyword_behind,
                                                             LEANING_BEHIND))
    return select(case, [f"{' '.join(carried)}: {part}"], leaning) if carried else []


def unanswered(case: Case, parts: Sequence[str]) -> list[str]:
    """The questions of a message of several (see question_parts) that no fact answers, alone
    or leaning on the question before them: when the others are answered, the reply says it
    has nothing more on these rather than passing over them. Only whole questions (a sentence
    of UNANSWERED_WORDS words or more that ends with a question mark) are: a list's items and
    fragments ("Two things.", "Contract p99") are no questions of their own. A question may
    only say more of one answered ("What actually happens to that request?"), which is why
    the reply says it has nothing *more* on it rather than that it cannot tell."""
    from agent.clarify.select import select

    if len(parts) < 2:
        return []
    return [part for n, part in enumerate(parts)
            if part.rstrip().endswith("?") and len(part.split()) >= UNANSWERED_WORDS
            and not select(case, [part])
            and not (n and _elliptical(part) and _leaning(case, parts[n - 1], part))]


#: A question of a message of several is said to be left without answer when it has at least
#: this many words (see unanswered).
UNANSWERED_WORDS = 3


#: How far a keyword hit of a question read leaning on the one before it may trail the closest
#: fact (:func:`_leaning`; ``keyword_behind`` of agent.clarify.select.Params).
LEANING_BEHIND = 0.25
#: A question with at most this many content words of its own may lean on the one before it.
ELLIPTICAL_WORDS = 2


def status_for(criterion: Criterion, answers: Sequence[str]) -> tuple[int, Status]:
    """The offline scorer's level for one criterion (the same reading: claims, negation,
    numbers in words, exemplars), as met / partial / unmet."""
    from agent.scorers import criterion_level

    level = criterion_level(criterion, answers)
    status: Status = "met" if level >= 3 else "partial" if level == 2 else "unmet"
    return level, status


class OfflineInterviewer:
    engine = "offline"

    def clarify(self, case: Case, question: str, history: Sequence[Turn],
                speak: Speaker) -> ClarifyReply:
        from agent.clarify import reply

        ends = states_assumptions(question)
        parts = question_parts(question)
        facts = facts_asked(case, parts)
        repeated = reply.asked_before(question, history)
        if facts:
            text = reply.answer(facts, reply.told_before(case, history))
            left = unanswered(case, parts)
            if left:
                text = f"{text} {reply.not_on_sheet(left)}"
        elif ends:
            text = ""
        elif parts:
            text = reply.no_fact(repeated, question)
        else:
            # Nothing asked and nothing assumed ("Thanks, that's helpful."): invite the next
            # question rather than refusing one that was never asked.
            text = str(script()["no_question"])
        if text:
            speak(text)
        return ClarifyReply(text=text, fact_ids=[f.id for f in facts], ends_step=ends)

    def assess(self, case: Case, rubric: Rubric, answers: Sequence[str]) -> Assessment:
        from agent.scorer_common import applicable  # criteria the case leaves out are never probed

        return Assessment({c.id: status_for(c, answers)[1] for c, _ in applicable(case, rubric)})

    def followup(self, case: Case, rubric: Rubric, criterion: Criterion, step_question: str,
                 answers: Sequence[str], speak: Speaker) -> str:
        text = besides(criterion.probe, answers)
        speak(text)
        return text


#: A probe that asks where on our side a cause could be.
_ASKS_OUR_SIDE = re.compile(r"^what (?=on our side\b)", re.IGNORECASE)
#: A sentence that puts a cause on our side: our system, stack, engine... with a word of
#: cause or fault ("Our system is made for models that fit in one machine", "no server-side
#: retry").
_OUR_THING = re.compile(
    r"\b(?:(?:our|the platform'?s|our own) (?:own )?(?:system|stack|platform|serving|engine|"
    r"servers?|fleet|gpus?|kernels?|scheduler|autoscal\w*|cache|batching|router|infra\w*|code|"
    r"side|end|decod\w*|validat\w*|pipeline|setup|runtime|registry)|server[- ]side|on our side|"
    r"the serving (?:engine|stack|layer|path|runtime)|(?:our|the model|a model) registry)\b",
    re.IGNORECASE)
_FAULT = re.compile(
    r"\b(?:caus\w*|because|problem|issue|suspect\w*|culprit|bottleneck|made for|built for|"
    r"designed for|assum\w*|can'?t|cannot|doesn'?t|does not|no|not|too|slow\w*|break\w*|"
    r"broke\w*|fail\w*|wrong|hurt\w*|limit\w*|only)\b", re.IGNORECASE)
#: "Our GPUs are fine", "the stack is not the problem": our side cleared, not blamed.
_CLEARED = re.compile(
    r"\b(?:(?:is|are)(?:n'?t| not)?\s+fine|(?:not|isn'?t|aren'?t|never)\b[^.;]{0,20}\b(?:the )?"
    r"(?:problem|issue|cause|culprit|bottleneck))\b", re.IGNORECASE)


def besides(probe: str, answers: Sequence[str]) -> str:
    """``probe``, acknowledging what the answers already put on our side: "What on our side of
    the platform could be causing this?" after "Our system is made for models that fit in one
    machine" asks "Besides what you've named, what else on our side..." (trial 10: the probe
    read as if the answer had said nothing about our side)."""
    if not _ASKS_OUR_SIDE.match(probe):
        return probe
    named = any(_OUR_THING.search(s) and _FAULT.search(s) and not _CLEARED.search(s)
                for a in answers for s in sentences(a))
    return _ASKS_OUR_SIDE.sub("Besides what you've named, what else ", probe) if named else probe
