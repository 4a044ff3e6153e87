"""Rules that read what a sentence asserts, where embeddings cannot: negation scope per clause,
whether a sentence is a claim (it has a verb) or a bare noun string, and the parts of a
sentence short enough to match a rubric exemplar by meaning.

Negation: a cue ("not", "n't", "no", "never", "without", "skip", "rather than", "instead of",
"no need for", "overrated", "not worth", ...) negates the rest of its clause, or, for cues that
follow what they dismiss ("canaries are overkill", "p99 doesn't matter"), the clause up to it.
A comma-separated fragment without a verb continues a negated clause ("no canary, rollback or
A/B test"). Negations that state a guardrail are not negations of a practice: "p99 must not
exceed 500 ms", "no regression in accuracy", "without dropping requests", "no more than 0.1%".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agent.prompts import scoring_words
from agent.semantic.numbers import has_number_words, words_to_numbers
from agent.signals import (
    caseless_form,
    finditer_caseless,
    found_in,
    literal_finder,
    lowered_if_simple,
    matched_at_start,
    matching_in,
    substantive_sentences,
    union_of,
)

# -- clauses -------------------------------------------------------------------------------------

#: Where a clause ends: punctuation, and conjunctions that start a new assertion.
_CLAUSE_BREAK = re.compile(
    r"\s*[;:()\u2013\u2014]\s*|\s+-\s+|,\s*|\s+(?=(?:but|however|whereas|while|although|though|"
    r"instead|so|because|since|which|then|yet|otherwise|unless|if|when|where)\b)",
    re.IGNORECASE)

# -- verbs ---------------------------------------------------------------------------------------

_AUX = ("am is are was were be been being have has had do does did will would shall should can "
        "could may might must need needs let let's lets i'm we're you're they're it's that's "
        "there's here's i'll we'll you'll they'll it'll i'd we'd they'd i've we've they've "
        "isn't aren't wasn't weren't don't doesn't didn't won't wouldn't can't cannot couldn't "
        "shouldn't mustn't haven't hasn't hadn't")
#: Common verbs of interview answers, base form (inflections are derived below).
_VERBS = (
    "accept account act add adjust affect aim allow alert answer apply argue ask assume "
    "attribute avoid back batch become begin believe benchmark bet bill block book break bring "
    "build burn buy call cap capture care carry catch cause change charge check choose claim "
    "climb close collect come commit compare compute confirm consider contain continue control "
    "convert cost count cover crash create cross cut deal decide decline decode define degrade "
    "deliver demand deploy depend describe design detect determine die distill do double drain "
    "drive drop earn eat end ensure estimate evaluate exceed expand expect explain expose "
    "extend fail fall feel fill find finish fire fit fix flag flip focus follow force forget "
    "free gain gate get give go grow guarantee guess halve handle happen hear help hide hire "
    "hit hold hurt identify imagine implement improve include increase instrument invest keep "
    "kill know land last launch lead learn leave lose lower make matter mean measure meet "
    "migrate miss model monitor move negotiate notice offer open order own page pay pick pin "
    "plan play plot point pool prefer prepare preload prevent price prioritise prioritize "
    "produce promise protect prove provision pull push put queue quantize quote raise ran "
    "rank reach read reduce refund reject release remove rent replace replay report reserve "
    "resolve respond rest retry return reuse review rise roll route run save saturate say "
    "scale schedule score see seem sell send serve set share shed shift ship show shrink shut "
    "sign size skip slip slow solve sort spend spike spin split spread stage start stay stop "
    "store suggest supply support suspect swap switch take talk target teach tell test think "
    "throttle tie trace track trade train treat trigger trim try tune turn understand use "
    "validate verify wait want warm waste watch win work worry write")
_IRREGULAR = ("began begun bought brought built burnt caught chose chosen came did done drew "
              "drove driven fell felt found forgot forgotten gave given got gotten went gone "
              "grew grown heard held hid kept knew known laid led left lent lost made meant "
              "met paid put ran rose risen said saw seen sold sent set shown shut spent split "
              "spread stood struck took taken taught told thought threw understood won wrote "
              "written")
#: Not verbs here: buzzwords that glue a noun string together ("leverage synergy to optimize").
_NOT_VERB_WORDS = ("leverage leverages leveraging synergize synergise unlock unlocks empower "
                   "empowers streamline streamlines operationalize holistic")
_NOT_VERBS = frozenset(_NOT_VERB_WORDS.split())


def _inflect(verb: str) -> set[str]:
    out = {verb}
    if verb.endswith("e"):
        out |= {verb + "s", verb + "d", verb[:-1] + "ing"}
    elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
        out |= {verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"}
    elif re.search(r"(s|x|z|ch|sh)$", verb):
        out |= {verb + "es", verb + "ed", verb + "ing"}
    else:
        out |= {verb + "s", verb + "ed", verb + "ing"}
        if re.search(r"[^aeiou][aeiou][bdgkmnprt]$", verb):  # drop -> dropped
            out |= {verb + verb[-1] + "ed", verb + verb[-1] + "ing"}
    return out


_VERB_FORMS = frozenset(
    {w for v in _VERBS.split() for w in _inflect(v)} | set(_IRREGULAR.split())
    | set(_AUX.split())) - _NOT_VERBS
_WORD = re.compile(r"[a-z][a-z']*")
#: A subject pronoun: "we" + anything is a clause ("we canary", "I'd ship").
_PRONOUN = frozenset({"i", "we", "you", "they", "he", "she", "it"})


_AUX_FORMS = frozenset(_AUX.split())
#: What may follow a verb used as a verb: "cut the", "roll back", "add 2", "move them to".
_OBJECT_WORDS = ("a an the this that these those our their its my your his her some any more "
                 "less all every each both up down back out off on over in into to for with "
                 "from by at them it us him me what how why where when behind across per than "
                 "as so because if")
_OBJECT = frozenset(_OBJECT_WORDS.split())
#: Before a verb used as a verb: "to cap", "we'd cap", "then cap", "and cap".
_SUBJECT_WORDS = ("to let's lets i we you they he she it then and or also just first simply "
                  "probably would should could will can must that this which there who what")
_SUBJECT = frozenset(_SUBJECT_WORDS.split())
#: Buzzwords: two in a sentence (or one of the marked ones) make it filler, not a claim.
_BUZZ = re.compile(
    r"\b(?:(synerg\w*|leverag\w*|holistic\w*|double[- ]click\w*|ladders? up|move the needle|"
    r"paradigm\w*|best[- ]in[- ]class|world[- ]class|game[- ]chang\w*|value unlock|unlock value|"
    r"north[- ]star alignment|operationali[sz]\w*|thought leadership|low[- ]hanging fruit|"
    r"circle back|boil the ocean|table stakes)|north[- ]star|align(?:ment)?|optimi[sz]\w*|"
    r"guardrails?|posture|framework|workstreams?|stakeholders?|readiness|maturity|levers?|"
    r"strategy|strategic)\b", re.IGNORECASE)
#: A bullet marker, a Markdown heading or a "Label:" that opens a line.
_BULLET = re.compile(r"^\s*(?:[-*•·+>]|\d+[.)]|#+)\s*")
_LABEL_VALUE = re.compile(r"^([^:]{1,40}):\s*(.*)$")
_HEADING = re.compile(r"^\s*#+\s")


_FUNCTION_WORDS = ("a an the of in on at for with from by to per each every any some their our "
                   "its this that these those than across over under into within")
_FUNCTION = frozenset(_FUNCTION_WORDS.split())


def _short_list(items: list[str]) -> bool:
    """A list of short items: three or more all of at most three words ("p99, trade-offs, root
    cause"), or five or more nearly all so ("side by side, a slice of traffic, switch back,
    give-ups, written review"): one longer item does not make a list a claim."""
    short = sum(1 for x in items if len(x.split()) <= 3)
    if (len(items) >= 3 and short == len(items)) or (len(items) >= 5
                                                     and short >= len(items) - 1):
        return True
    # a long list of names may hold a few of four or five words ("time to first token", "cost
    # per million tokens"), none of them saying anything (no pronoun, no auxiliary)
    return (len(items) >= 8 and short >= 0.6 * len(items)
            and all(len(x.split()) <= 5 for x in items)
            and not any(w in _AUX_FORMS or w in _PRONOUN
                        for x in items for w in _WORD.findall(x.lower())))


#: (Each match starts with whitespace or one of the marks, "and" or "or": the lookahead lets
#: the matcher pass over any other place at once.)
_ITEM_SPLIT = re.compile(r"(?=[\s,/+;&ao])\s*(?:[,/+;&]|\band\b|\bor\b)\s*")


def _split_items(text: str) -> list[str]:
    """``_ITEM_SPLIT.split(text)``, with no search of a text that holds none of the marks
    (most sentences hold no list)."""
    if ("," in text or "/" in text or "+" in text or ";" in text or "&" in text
            or "and" in text or "or" in text):
        return _ITEM_SPLIT.split(text)
    return [text]


def _list_items(text: str) -> list[str] | None:
    """The items of ``text`` when it is a list of short items (see :func:`_short_list`), after
    a bullet and a short "Label:" (a longer lead-in that ends in a colon is the list's first
    item: "the aim is to make all of it better: latency, cost, ..."), or None."""
    line = _BULLET.sub("", text)
    lv = _LABEL_VALUE.match(line)
    body = lv.group(2) if lv and len(lv.group(1).split()) <= 4 else line
    items = [x for x in _split_items(body) if x.strip(" .")]
    return items if _short_list(items) else None


_NUMBER = re.compile(r"(?<![a-z])\d", re.IGNORECASE)


@lru_cache(maxsize=16384)
def listed_figures(text: str) -> bool:
    """A list of six or more short items in which a figure or two sit among names ("p99, TTFT,
    cost per token, error rate, 99.9% availability, churn, margin."): it states no quantity as a
    whole, as a list of targets does, where most items carry their number ("p99 < 500 ms, 99.9%
    availability, error rate < 0.1%")."""
    items = _list_items(text)
    if items is None or len(items) < 6:
        return False  # a short list with a figure may still say something ("top-10 account")
    return sum(1 for x in items if _NUMBER.search(x)) * 2 < len(items)


@lru_cache(maxsize=16384)
def described(text: str) -> bool:
    """A verbless sentence that still describes something ("Plus interviews with a few teams
    from each cohort."): six words or more, held together by function words, not a heading, a
    short "Label: value" or a list of short items."""
    if _HEADING.match(text):
        return False
    line = _BULLET.sub("", text)
    lv = _LABEL_VALUE.match(line)
    body = lv.group(2) if lv and len(lv.group(1).split()) <= 4 else line
    words = _WORD.findall(body.lower())
    if len(words) < 6:
        return False
    items = [x for x in _split_items(body) if x.strip(" .")]
    if _short_list(items):
        return False
    return sum(1 for w in words if w in _FUNCTION) >= 0.2 * len(words)


_BUZZ_LOW = caseless_form(_BUZZ)
#: Strings one of which any match of the expression holds (signals.literal_finder).
_BUZZ_NEEDS = literal_finder(_BUZZ.pattern)


def _may_hold(finder: re.Pattern[str] | None, low: str | None) -> bool:
    """False only when lower-cased simple text (``low``) holds none of a literal_finder's
    strings: then the expression it was made for finds nothing there."""
    return finder is None or low is None or finder.search(low) is not None


def filler(text: str) -> bool:
    """Buzzwords glued together: a marked one ("synergy", "leverage", "holistically") or
    three of any ("north star alignment of the guardrail framework")."""
    if not _may_hold(_BUZZ_NEEDS, lowered_if_simple(text)):
        return False  # (no hit)
    hits = list(finditer_caseless(_BUZZ, _BUZZ_LOW, text))
    return any(m.group(1) for m in hits) or len(hits) >= 3


@lru_cache(maxsize=16384)
def has_verb(text: str) -> bool:
    """Does this text assert something? An auxiliary or a subject pronoun says so; a verb of
    the lexicon does when it is used as one (after "to", a pronoun or a modal, or before an
    object or particle: "cut the", "roll back"). Nouns strung together ("KV cache, p99, north
    star, guardrails", "canary coverage", "stakeholder confirm") do not, nor do headings."""
    if _HEADING.match(text):
        return False
    line = _BULLET.sub("", text)
    lv = _LABEL_VALUE.match(line)
    if lv and len(lv.group(1).split()) <= 4:  # "root cause: to confirm", "pick: more GPUs"
        value = lv.group(2)
        if len(value.split()) <= 3 and not re.search(r"(?<![a-z])\d", value, re.IGNORECASE):
            return False
    items = [x for x in _split_items(lv.group(2) if lv else line) if x.strip(" .")]
    if _short_list(items):
        return False  # a list of short items: "p99, trade-offs, root cause, confirm"
    words = _WORD.findall(line.lower().replace("\u2019", "'"))
    long = len(words) >= 5
    for i, w in enumerate(words):
        if w in _AUX_FORMS or w in _PRONOUN:
            return True
        if w not in _VERB_FORMS:
            continue
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if long or before in _SUBJECT or after in _OBJECT or (w.endswith("ed") and i > 0):
            return True
    return False


# -- negation ------------------------------------------------------------------------------------

#: Cues that negate what follows them in the clause.
_NEG_BEFORE = re.compile(
    r"\b(?:not|no|never|without|nor|neither|none|nothing|cannot|hardly|"
    r"\w+n't|\w+n’t|"
    r"skip(?:s|ped|ping)?|avoid(?:s|ed|ing)?|forget(?:ting)? about|drop(?:ped|ping)? the|"
    r"rather than|instead of|as opposed to|ditch(?:ed|ing)?|rule[sd]? out|ruling out|"
    r"won't bother with|no need (?:for|to)|no point (?:in|to)|"
    r"never bother(?:ed)? (?:with|to)|don't bother(?: with| to)?|"
    r"steer clear of|stay away from|pass on)\b",
    re.IGNORECASE)
#: Cues that dismiss what came before them in the clause.
_NEG_AFTER = re.compile(
    r"\b(?:(?:is|are|was|were|seems?|looks?|feels?)\s+(?:just\s+|totally\s+|really\s+|"
    r"kind of\s+|a bit\s+)?(?:an?\s+)?(?:overrated|overkill|unnecessary|pointless|irrelevant|"
    r"useless|fine(?![-‐]\w)|good enough|beside the point|a rabbit hole|an? \w+ detail|"
    r"a waste(?: of time)?|a distraction|a red herring|noise|not (?:needed|necessary|required|"
    r"worth it|worth|important|relevant|useful|the (?:issue|problem|point))|"
    r"(?:n't|n’t) (?:needed|necessary|required|worth it|worth|important|relevant|useful|"
    r"the (?:issue|problem|point)))|"
    r"(?:(?:is|are|was|were|will be|would be)\s+(?:never|hardly ever|rarely|not ever)|"
    r"(?:will|would) never be)\s+(?:needed|necessary|required|worth it|worth|useful|"
    r"important)|"
    r"(?:is|are|was|were)(?:n't|n’t| not) (?:\w+ )?(?:needed|necessary|required|worth|"
    r"important|relevant|useful|the (?:issue|problem|point))|"
    r"(?:does|do|did)(?:n't|n’t| not) come into (?:it|this|play)|"
    r"(?:does|do|did|will|would)(?:n't|n’t| not) (?:matter|help|apply|work|fix it|"
    r"fix anything|tell us (?:anything|much))|not worth (?:it|the (?:effort|cost|time))|"
    r"(?<!that )(?<!which )can wait|is off the table|are off the table|"
    r"(?:is|are|would be) (?:just )?theat(?:re|er)|"
    r"(?:is|are|would be) (?:just |only )?(?:a |an )?(?:sales|vanity|ops|engineering) (?:number|"
    r"metric|detail|concern)|(?:is|are) whatever|(?:do|does)(?:n't|n’t| not) think (?:\w+ )?"
    r"(?:are |is )?worth|(?:is|are|was)(?:n't|n’t| not) a factor|"
    r"(?:is|are) (?:just |pure )?noise|(?:won't|wo n't|doesn't|does not|can't|will not|cannot) "
    r"help|(?:is|are)(?:n't|n’t| not) (?:the|a) (?:story|cause|bottleneck)|(?:is|are) unlikely "
    r"to be (?:the|a) (?:story|issue|cause|problem|bottleneck))\b",
    re.IGNORECASE)
#: What a guardrail negates, right after the cue: "no more than", "no extra GPUs", "not only".
_GUARD_NEAR = re.compile(
    r"^\s*(?:more than|higher than|greater than|less than|lower than|fewer than|later than|"
    r"longer than|slower than|worse than|above|over|below|under|extra|additional|new "
    r"(?:hardware|gpus?|nodes?)|just|only|merely|one|single|surprises?|silent\w*|hidden|"
    r"change in|cost increase|price increase|loss|impact|downtime|outages?|regressions?|"
    r"degradation|drop\b|increase|errors?|timeouts?|failed|dropped)\b",
    re.IGNORECASE)
#: ... or a little further on: "not exceed", "doesn't regress", "without dropping requests".
_GUARD_VERB = re.compile(
    r"^\s*(?:\w+\s+){0,2}?(?:exceed\w*|regress\w*|degrad\w*|drop(?:s|ped|ping)?|push\w*|go(?:es)? "
    r"(?:up|above|over|beyond)|rise|rising|increas\w*|grow\w*|worse\w*|break\w*|fall\w*|"
    r"slip\w*|hurt\w*|los[et]\w*|miss\w*|breach\w*|spill\w*|stall\w*|starv\w*|leak\w*|"
    r"drift\w*|sacrific\w*|compromis\w*|affect\w*|harm\w*|impact\w*|time out|fail\w*|"
    r"wait\w*|queue\w*|spike\w*|blow\w*)\b",
    re.IGNORECASE)
#: A customer that must not go, right after a verb's negation: "they don't churn at renewal",
#: "the account doesn't leave us", "they won't move their traffic elsewhere" (a retention
#: target, as "p99 must not exceed" is a latency one; "we don't track churn" stays negated).
_GOES = re.compile(
    r"^\s+(?:churn\w*|cancel\w*|leave us|walk away|switch\w* away|"
    r"mov\w* (?:their |the |its )?(?:traffic|business|workloads?|spend) (?:away|elsewhere))\b",
    re.IGNORECASE)


_GUARD_MORE = re.compile(r"^\s*(?:\w+\s+){0,4}?(?:more|extra|additional|higher|worse|slower|"
                         r"bigger|push\w* up|driv\w* up|rais\w*)\b", re.IGNORECASE)


#: "not one of ...": denies membership ("not one of our top ten") unless what follows says
#: that none of them failed ("not one of the requests failed": a guard, as "not one request").
_ONE_OF = re.compile(r"^\s*one of\s+", re.IGNORECASE)


#: A present or past state denied right after a copula ("it isn't queueing", "requests weren't
#: timing out", "it's not spiking"): a hypothesis ruled out, not a guardrail. A guardrail says
#: what must not happen ("make sure requests aren't queueing", "it must not time out").
_STATE_CUE = re.compile(r"^(?:is|are|was|were)n['’]t$", re.IGNORECASE)
_COPULA_BEFORE = re.compile(r"(?:\b(?:is|are|was|were)|['’](?:s|re))\s*$", re.IGNORECASE)
_ING = re.compile(r"^\s*\w+ing\b", re.IGNORECASE)
_TARGET_BEFORE = re.compile(r"\b(?:ensure|make sure|so that|must|should|need|needs|keep|want|"
                            r"goal|target|aim|guarantee|verify|check that|confirm|until|alert)\b",
                            re.IGNORECASE)


def _state_denied(clause: str, cue: re.Match[str]) -> bool:
    """The cue denies a state (see _STATE_CUE): a copula's negation followed by an -ing form, in
    a clause that sets no target."""
    copula = _STATE_CUE.match(cue.group(0)) or (
        cue.group(0).lower() == "not" and _COPULA_BEFORE.search(clause[:cue.start()]))
    return bool(copula and _ING.match(clause[cue.end():])
                and not _TARGET_BEFORE.search(clause[:cue.start()]))


def _guard(rest: str) -> bool:
    one_of = _ONE_OF.match(rest)
    if one_of:
        return _guard(rest[one_of.end():])
    return bool(_GUARD_NEAR.match(rest) or _GUARD_VERB.match(rest) or _GUARD_MORE.match(rest))


@dataclass(frozen=True)
class Clause:
    """One clause of a sentence: its text, where it starts in the sentence, and the spans
    (relative to the clause) a negation covers."""

    text: str
    start: int
    negated: tuple[tuple[int, int], ...]
    retracted: bool = False
    """taken back by the clause after it ("It could go wrong, but it can't"): it says nothing,
    not even as a rejection given with a reason"""

    @property
    def fully_negated(self) -> bool:
        return any(a <= 0 and b >= len(self.text.rstrip(" .!?")) for a, b in self.negated)


def negation_cue(text: str) -> re.Match[str] | None:
    """The first negation cue in ``text`` (before or after what it negates), if any."""
    return _NEG_BEFORE.search(text) or _NEG_AFTER.search(text)


#: A conditional or hypothetical clause: a negation in it describes a mechanism ("if
#: cancellations don't free batch slots, we waste capacity"), it rejects nothing.
_CONDITIONAL = re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?(?:if|when|whenever|unless|once|until|"
                          r"in case|whether)\b", re.IGNORECASE)
#: Absence stated as a fact ("there's no per-step trace", "they don't have tracing"): a gap
#: found, not a practice rejected.
_EXISTENTIAL = re.compile(r"(?:there(?:'s|’s| is| are| was| were)|we have|they have|it has|"
                          r"has|have|had|with|lack of|lacks?)\s*$", re.IGNORECASE)
_TO_VERB = re.compile(r"^\s+to\s+\w", re.IGNORECASE)
_HAVE_NOT = re.compile(r"^(?:do|does|did|have|has)n['’]t$|^have not$", re.IGNORECASE)
_NEED = re.compile(r"^\s*(?:any\s+|real\s+|big\s+)?(?:need|point|reason|value|benefit|use|catch|"
                   r"downsides?|risks?|trade-?offs?|issues?|problems?|concerns?|difference)\b|"
                   r"^\s+to\b",
                   re.IGNORECASE)
#: Uncertainty, not negation: "I'm not sure cost matters to them".
_UNSURE = re.compile(r"^\s*(?:sure|certain|clear|convinced yet)\b", re.IGNORECASE)
#: Cues whose scope is the noun phrase after them ("no version history", "without chunking").
_NP_CUES = frozenset({"no", "without", "rather than", "instead of", "as opposed to"})
#: "no point asking about cost", "no need for a canary": the whole rest of the clause.
_NO_POINT = re.compile(r"^\s*(?:real\s+)?(?:point|need|reason|way|use|value)\b", re.IGNORECASE)
_NP_END = re.compile(r"\b(?:i|we|you|they|he|she|it|that|which|who|so|but|because|then)\b",
                     re.IGNORECASE)


def _np_end(clause: str, start: int) -> int:
    """Where the noun phrase starting at ``start`` ends: at a pronoun, a verb or a
    conjunction that starts a new assertion, or after six words."""
    pos = start
    for i, m in enumerate(re.finditer(r"\S+", clause[start:])):
        word = m.group(0).strip(".,;:!?").lower()
        if i >= 6 or (i > 0 and (_NP_END.fullmatch(word) or word in _AUX_FORMS)):
            return pos
        pos = start + m.end()
    return len(clause)


#: The cues' forms for lower-cased text (signals.finditer_caseless): the same matches, faster.
_NEG_BEFORE_LOW = caseless_form(_NEG_BEFORE)
_NEG_AFTER_LOW = caseless_form(_NEG_AFTER)
#: What their matches hold (most clauses hold none: their searches are then skipped).
_NEG_BEFORE_NEEDS = literal_finder(_NEG_BEFORE.pattern)
_NEG_AFTER_NEEDS = literal_finder(_NEG_AFTER.pattern)


def _negated_spans(clause: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if _CONDITIONAL.match(clause):
        return spans
    active = False
    low = lowered_if_simple(clause)
    for m in (finditer_caseless(_NEG_BEFORE, _NEG_BEFORE_LOW, clause)
              if _may_hold(_NEG_BEFORE_NEEDS, low) else ()):
        cue = m.group(0).lower()
        rest = clause[m.end():]
        if (_guard(rest) and not _state_denied(clause, m)
                and not (cue == "nothing" and _TO_VERB.match(rest))) or _UNSURE.match(rest) \
                or ((cue in ("not", "never") or cue.endswith(("n't", "n’t")))
                    and _GOES.match(rest)):
            continue  # (but "nothing to miss" says there is no need, not that nothing misses)
        if cue in ("no", "none", "nothing") and _EXISTENTIAL.search(clause[:m.start()]) \
                and not _NEED.match(rest):
            continue
        if _HAVE_NOT.match(cue) and re.match(r"\s+(?:have|got)\b(?!\s+to\b)", rest):
            continue  # "they don't have tracing": a gap; "we don't have to canary": rejected
        if cue == "without" and active:  # "never ship without a rollback": positive
            if spans:
                spans[-1] = (spans[-1][0], m.start())
            active = False
            continue
        np = cue in _NP_CUES and not _NO_POINT.match(rest)
        end = _np_end(clause, m.end()) if np else len(clause)
        spans.append((m.start(), end))
        active = end >= len(clause)
    for m in (finditer_caseless(_NEG_AFTER, _NEG_AFTER_LOW, clause)
              if _may_hold(_NEG_AFTER_NEEDS, low) else ()):
        spans.append((0, m.end()))
    return spans


#: A clause that dismisses the list before it: "none of it is worth doing", "all of that is
#: overkill", "those aren't needed".
_DISMISS_ALL = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:none of (?:it|them|these|those|this|that)\b|"
    r"(?:all of )?(?:it|that|this|these|those|they)(?:'s|’s|'re|’re| is| are)?\s+(?:all\s+)?"
    r"(?:not worth|overkill|unnecessary|not needed|pointless|a waste|overrated|(?:is|are)?n['’]t "
    r"(?:needed|necessary|worth)))", re.IGNORECASE)
#: A clause that is only a dismissal, of the clause before it: "latency metrics, not worth it".
_DISMISS_PREVIOUS = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:not worth (?:it|the \w+)|not needed|overkill|unnecessary|pointless|"
    r"irrelevant|no need|not necessary|not relevant|not required|waste of time|a waste)"
    r"(?:\s+(?:for|here|either|now|at all)\b.*)?\s*[.!]?\s*$", re.IGNORECASE)
#: A clause that takes back the one before it: "It could go wrong, but it can't", "costs rise,
#: though that never happens" (a downside named and denied in one breath names none). Not when a
#: condition follows ("..., but it won't if we check the evals first": a risk with its remedy).
_RETRACTS = re.compile(
    r"^\s*(?:but|though|although|yet|and)?\s*(?:it|that|this|they|which|"
    r"none of (?:it|that|this))\s+"
    r"(?:can(?:'|’)?t|cannot|can not|won(?:'|’)t|will not|wouldn(?:'|’)t|would not|doesn(?:'|’)t|"
    r"does not|don(?:'|’)t|do not|isn(?:'|’)t|is not|aren(?:'|’)t|are not|never(?: will| would| "
    r"does| do| can| could)?)(?:\s+(?:really|actually|ever|happen|happens|be|though|here|at all))*"
    r"\s*[.!]?\s*$", re.IGNORECASE)
_CONDITION = re.compile(r"^\s*(?:if|unless|as long as|when|provided|once|until|so long as)\b",
                        re.IGNORECASE)
#: "no canary, rollback or A/B test is needed": the list after a negated clause is still negated.
_STILL_NEGATED = re.compile(r"\b(?:is|are)\s+(?:needed|required|necessary|planned|worth it)\b"
                            r"|\bneeded\b", re.IGNORECASE)
#: "instead of X, priced lower": what follows the alternative is affirmed again.
_ALTERNATIVE = re.compile(r"(?:rather than|instead of|as opposed to|without)\b", re.IGNORECASE)


def _continues(text: str) -> bool:
    """A clause after a negated one that carries its negation: a verbless list, or "... is
    needed"; not one that starts a new assertion ("but", "we", "which")."""
    return bool((not has_verb(text) or _STILL_NEGATED.search(text)) and not re.match(
        r"\s*(?:and\s+)?(?:but|however|instead|so|then|yet|i|we|you|they|it|this|that|which|"
        r"who|because|since|if|when)\b", text, re.IGNORECASE))


#: A clause that ends mid-phrase ("never bothered with", "skip the").
_DANGLING = re.compile(r"\b(?:with|about|for|on|of|to|the|a|an|into|in)\s*$", re.IGNORECASE)


@lru_cache(maxsize=8192)
def clauses(sentence: str) -> tuple[Clause, ...]:
    """The clauses of a sentence with their negated spans (see the module docstring)."""
    out: list[Clause] = []
    pos = 0
    pieces: list[tuple[int, str]] = []
    for m in _CLAUSE_BREAK.finditer(sentence):
        if m.start() > pos:
            pieces.append((pos, sentence[pos:m.start()]))
        pos = m.end()
    if pos < len(sentence):
        pieces.append((pos, sentence[pos:]))
    carry = False  # the previous clause was negated to its end: a verbless list continues it
    dangling = False  # ... and it ended mid-phrase ("never bothered with", "skip the")
    for n, (start, text) in enumerate(pieces):
        if not text.strip():
            continue
        spans = _negated_spans(text)
        low = lowered_if_simple(text)  # (the tests below through signals.matched_at_start)
        if out and matched_at_start(_RETRACTS, text, low) and not (
                n + 1 < len(pieces) and _CONDITION.match(pieces[n + 1][1])):
            last = out[-1]  # "It could go wrong, but it can't"
            out[-1] = Clause(last.text, last.start, ((0, len(last.text)),), retracted=True)
            spans = spans or [(0, len(text))]
        if carry and not spans and (dangling or _continues(text)):
            spans = [(0, len(text))]
        # "latency and cost metrics, not worth it"
        if out and matched_at_start(_DISMISS_PREVIOUS, text, low):
            last = out[-1]
            out[-1] = Clause(last.text, last.start, ((0, len(last.text)),))
            spans = spans or [(0, len(text))]
        # "Prefix caching, more concurrency: none of it is worth it"
        if matched_at_start(_DISMISS_ALL, text, low):
            out = [Clause(c.text, c.start, ((0, len(c.text)),)) for c in out]
            spans = spans or [(0, len(text))]
        out.append(Clause(text, start, tuple(spans)))
        carry = bool(spans) and spans[-1][1] >= len(text) and not _ALTERNATIVE.match(
            text[spans[-1][0]:])
        # (a match ends at the end of the text stripped of whitespace, so it starts at most
        # five characters, the longest word, before that)
        dangling = bool(_DANGLING.search(text, max(0, len(text.rstrip()) - 5)))
    return tuple(out)


def negated_at(sentence: str, start: int, end: int) -> bool:
    """Is the span ``sentence[start:end]`` inside a negated part of its clause?"""
    for c in clauses(sentence):
        if c.start <= start < c.start + len(c.text):
            return any(c.start + a <= start and end <= c.start + b + 1 for a, b in c.negated)
    return False


def affirmed_text(sentence: str) -> str:
    """The sentence with its negated parts blanked out (same length, so offsets still hold)."""
    chars = list(sentence)
    for c in clauses(sentence):
        for a, b in c.negated:
            for i in range(c.start + a, min(c.start + b, len(chars))):
                chars[i] = " "
    return "".join(chars)


def asserted(sentence: str) -> str:
    """:func:`affirmed_text`, except that a question asserts nothing, so nothing is negated:
    the start of :attr:`Sentence.read` (which adds numbers as digits and the trade's words)."""
    return sentence if sentence.rstrip().endswith("?") else affirmed_text(sentence)


# -- sentences of an answer -------------------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    """A sentence as the scorer reads it."""

    text: str
    """verbatim (shown as evidence)"""
    read: str
    """numbers in words as digits, negated parts blanked: what signals are matched against"""
    full: str
    """numbers in words as digits, nothing blanked: for patterns that are themselves about
    rejecting something ("not doing", "can wait") and for reasoned rejections"""
    claim: bool
    """it has a verb: an assertion rather than a noun string"""
    quantity: bool
    """it states a number (a target, a measurement)"""
    negated: bool
    """some part of it is negated"""
    reasoned: bool
    """it gives a reason or an alternative ("because", "rather", "until", "first")"""
    parts: tuple[str, ...]
    """its affirmed clauses (and the whole affirmed sentence), for matching by meaning"""


#: A number that is a quantity: not part of a name ("p99", "H100", "Llama 3.1") or a label
#: ("phase 1", "hypothesis 2").
_QUANTITY = re.compile(
    r"(?=[<>≤≥$]|\d)"  # (what every match starts with: elsewhere no lookbehind is tried)
    r"(?:[<>≤≥]\s*\$?\d|\$\s?\d|(?<![\w.])(?<!phase )(?<!step )(?<!stage )(?<!tier )"
    r"(?<!level )(?<!option )(?<!hypothesis )(?<!priority )(?<!llama )\d)", re.IGNORECASE)
_REASON = re.compile(
    r"\b(?:because|since|given|so (?:that|we|it|the|they)|instead|in fav(?:ou)?r of|"
    r"until|for now|first|later|next (?:quarter|month)|after|before|which means|otherwise|"
    r"unless|too (?:slow|expensive|risky|costly|much|little|early|late)|only (?:if|when|after)|"
    r"the (?:highest|lowest|biggest) (?:effort|cost|risk)|ruled? out|rules? out|as long as)\b",
    re.IGNORECASE)


@lru_cache(maxsize=16384)
def everyday_terms(text: str) -> str:
    """The trade's words for what ``text`` says in everyday words (prompts/scoring_words.yaml:
    the ``means`` of every concept it says), or "": "the slowest one in a hundred" reads
    "p99 tail latency", "copies of the model" reads "replicas"."""
    words = scoring_words()
    known = _everyday
    if known is None or known[0] is not words:
        concepts = list(words.values())
        known = (words, union_of(tuple(says for _, says in concepts)),
                 tuple(means for means, _ in concepts))
        _set_everyday(known)
    _, union, means = known
    hit = matching_in(union, text)
    return " ".join(means[i] for i in sorted(hit))


#: (scoring_words(), its concepts' ``says`` joined for signals.matching_in, their ``means``):
#: worked out once for the words loaded, replaced in one assignment.
_everyday: tuple[object, Any, tuple[str, ...]] | None = None


def _set_everyday(known: tuple[object, Any, tuple[str, ...]]) -> None:
    global _everyday
    _everyday = known


#: A line that announces the candidate's own summary or assumptions ("So summary, my
#: assumption:", "Here's my recap:"): it says what follows is theirs, as a sentence with a verb
#: would ("Let me sum up"), though it has none.
#: A bare "Assumptions:" is no such line: it heads keyword salad as often as assumptions.
_ANNOUNCES = re.compile(
    r"^\W*(?:(?:so|ok(?:ay)?|alright|right)\W+)?(?:(?:in|to)\s+)?(?:my\s+|our\s+|the\s+)?"
    r"(?:summary|summari[sz]e|recap|sum(?:ming)? up|play-?back)\b[^.?!:]{0,40}:\s*$"
    r"|^\W*(?:(?:so|ok(?:ay)?|alright|right)\W+)?(?:my|our)\s+(?:working\s+)?assumptions?\b"
    r"[^.?!:]{0,40}:\s*$", re.IGNORECASE)


#: A "sentence" longer than this is a pasted block with no full stop in it, not a claim (it
#: counts at most as a string of nouns: once a step). The longest sentence in the labelled
#: interviews has 76 words.
CLAIM_MAX_WORDS = 250


#: A word in a sense the rubric's words do not mean: a margin of time ("8 min margin", "a
#: margin of 30 seconds", "safety margin", "margin of error") is slack, not profit. Read as
#: "slack " (as long as the word, so clause offsets hold); the sentence is shown as written.
_TIME = r"(?:ms|msec|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|weeks?)"
_WRONG_SENSE = re.compile(
    r"(?:\b\d+(?:\.\d+)?\s*" + _TIME + r"\b(?:\s+(?:of|the|our|a|safety|spare|extra|time|"
    r"buffer))*\s+|\b(?:safety|time|timing|error|latency|capacity|memory)\s+)(margin)s?\b"
    r"|\b(margin)s?\s+(?:of\s+(?:about\s+|roughly\s+|~\s*)?(?:\d+(?:\.\d+)?\s*" + _TIME
    + r"\b|safety|error)|for (?:error|safety))",
    re.IGNORECASE)


def _in_its_sense(text: str) -> str:
    """``text`` with each word used in another sense than the rubric's replaced, length kept."""
    if "argin" not in text:
        return text
    chars = list(text)
    for m in _WRONG_SENSE.finditer(text):
        g = 1 if m.group(1) else 2
        chars[m.start(g):m.end(g)] = "slack "
    return "".join(chars)


def _word_edges(text: str, start: int, end: int) -> bool:
    r"""Whether no word runs across either end of ``text[start:end]`` (word characters, as
    ``\w`` reads them, on both sides of a cut)."""
    return ((start == 0 or not _word_char(text[start - 1]) or not _word_char(text[start]))
            and (end >= len(text) or not _word_char(text[end])
                 or not _word_char(text[end - 1])))


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


#: A link: its words are an address, not a claim ("https://wiki/canary-rollback-guardrails"
#: said nothing about a canary).
_LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'“”]+", re.IGNORECASE)


def _unlinked(text: str) -> str:
    """``text`` with each link blanked, length kept."""
    low = text.lower()
    if "http" not in low and "www." not in low:
        return text
    return _LINK.sub(lambda m: " " * len(m.group(0)), text)


@lru_cache(maxsize=16384)
def read_sentence(text: str) -> Sentence:
    src = _in_its_sense(_unlinked(text))  # as long as text: clause offsets hold
    affirmed = asserted(src)
    digits = words_to_numbers(affirmed)
    # patterns written with number words ("two kinds") still match the original
    read = affirmed if digits == affirmed else f"{affirmed} | {digits}"
    said = everyday_terms(digits)
    if said:
        read = f"{read} | {said}"
    cut = clauses(src)
    plain = not has_number_words(affirmed)  # (asked by words_to_numbers above: cached)
    parts = [(part if plain and _word_edges(affirmed, c.start, c.start + len(part))
              else words_to_numbers(part)).strip()
             for c in cut for part in (affirmed[c.start:c.start + len(c.text)],)]
    whole = " ".join(digits.split())  # (re.sub(r"\s+", " ", digits).strip(), faster)
    parts = [p for p in parts if len(p.split()) >= 3]
    lv = _LABEL_VALUE.match(_BULLET.sub("", text))
    if lv and 1 <= len(lv.group(1).split()) <= 3 and lv.group(2).rstrip().endswith("?"):
        # a short label names what the questions after it ask about ("Burst shape: how fast
        # does it ramp?" asks about the burst, not about how fast answers come back)
        label = lv.group(1).strip()
        parts = [p if label.lower() in p.lower() else f"{label}: {p}" for p in parts]
    if whole and whole not in parts:
        parts.append(whole)
    taken_back = [c for c in cut if c.retracted]
    if taken_back:  # a clause taken back is not there even for reasoned rejections
        chars = list(src)
        for c in taken_back:
            chars[c.start:c.start + len(c.text)] = " " * len(c.text)
        text_full = "".join(chars)
    else:
        text_full = src
    full = words_to_numbers(text_full)
    said = everyday_terms(full)
    full = text_full if full == text_full else f"{text_full} | {full}"
    if said:
        full = f"{full} | {said}"
    return Sentence(text=text, read=read, full=full,
                    claim=((has_verb(text) or described(text) or bool(_ANNOUNCES.match(text)))
                           and not filler(text) and len(text.split()) <= CLAIM_MAX_WORDS),
                    quantity=found_in(_QUANTITY, read, lowered_if_simple(read))
                    and not listed_figures(digits),
                    negated=affirmed != src,
                    reasoned=found_in(_REASON, text, lowered_if_simple(text)),
                    parts=tuple(parts))


#: A line that only heads what follows: "Short term:", "Assumptions:", "## Next quarter",
#: "**Risks:**" (a label of at most four words, with a colon or as a Markdown heading).
_HEAD_LINE = re.compile(r"^\s*(?:(#+)\s*)?\**\s*([A-Za-z0-9][^:.?!*#\n]{0,40}?)\s*(:?)\s*\**"
                        r"\s*(:?)\s*$")
#: A list item's line: a bullet or a number.
_ITEM_LINE = re.compile(r"^\s*(?:[-*\u2022\u00b7+]|\d+[.)])\s+\S")


def _heading(line: str) -> str | None:
    """The label of a line that only heads a list ("Short term:" -> "Short term"), or None."""
    m = _HEAD_LINE.match(line)
    if not m or not (m.group(1) or m.group(3) or m.group(4)) or _ITEM_LINE.match(line):
        return None
    label = m.group(2).strip()
    return label if 1 <= len(label.split()) <= 4 else None


def _headed_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, heading) of each list item's line that sits under a heading line: the
    bulleted or numbered lines right after it (blank lines before the first allowed), up to the
    first line that is neither."""
    spans: list[tuple[int, int, str]] = []
    head: str | None = None
    started = False
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        label = _heading(line)
        if label is not None:
            head, started = label, False
        elif head is not None and _ITEM_LINE.match(line):
            spans.append((pos, end, head))
            started = True
        elif head is not None and not line.strip() and not started:
            pass
        else:
            head = None
        pos = end + 1
    return spans


def _under(heading: str, sentence: str) -> Sentence:
    """A list item's sentence read with its heading's meaning ("Short term:" over "- Keep the
    top adapters warm" reads "Short term: Keep the top adapters warm"), shown as written. An
    item that affirms nothing of its own ("- No canary.") takes nothing from the heading."""
    own = read_sentence(sentence)
    body = _BULLET.sub("", sentence)
    if len(_WORD.findall(asserted(body).lower())) < 2:
        return own
    with_head = read_sentence(f"{heading}: {body}")
    return Sentence(text=sentence, read=f"{own.read} | {with_head.read}",
                    full=f"{own.full} | {with_head.full}", claim=own.claim,
                    quantity=own.quantity, negated=own.negated, reasoned=own.reasoned,
                    parts=own.parts + tuple(p for p in with_head.parts if p not in own.parts))


_N = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
#: A time label that opens a line or heads a list: "Week 1:", "Month 2 -", "Quarter:",
#: "Days 1-3:", "Next quarter:", "Q3:", "H2:" (its unit, its first and last number).
_TIME_LABEL = re.compile(
    r"^\W*(?:(this|next|first|the first)\s+)?(day|week|wk|month|mo|quarter|q[1-4]|half|h[12]|year)"
    r"s?\.?\s*(" + _N + r")?(?:\s*(?:-|\u2013|\u2014|to)\s*(" + _N + r"))?"
    r"\s*(?:\([^)]{0,30}\))?\s*(?::|\s[-\u2013\u2014]\s)", re.IGNORECASE)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12}
#: The words the time-horizon signals read for each horizon (rubrics/solutions.yaml).
_HORIZON_WORDS = ("near term", "mid term", "longer term")


def _number(word: str | None) -> int | None:
    if not word:
        return None
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word.lower())


def _horizon(label: str) -> int | None:
    """Which horizon a time label opens (0 near, 1 mid, 2 long), or None: days and the first
    weeks are near; later weeks and the first two months mid; later months, a quarter on its own,
    a half and a year long ("next quarter" is mid, as the rubric reads it)."""
    m = _TIME_LABEL.match(label)
    if not m:
        return None
    rel, unit = (m.group(1) or "").lower(), m.group(2).lower()
    last = _number(m.group(4)) or _number(m.group(3))
    if unit in ("day", "week", "wk"):
        return 0 if unit == "day" or (last or 1) <= 4 else 1
    if unit in ("month", "mo"):
        return 1 if (last or 1) <= 2 else 2
    if unit in ("quarter",) and rel in ("this", "next", "first", "the first"):
        return 1
    return 2


#: Days a time label's unit spans, for ordering labels (see _by_rank).
_UNIT_DAYS = {"day": 1, "week": 7, "wk": 7, "month": 30, "mo": 30, "quarter": 91, "half": 182,
              "year": 365}


def _days(label: str) -> int | None:
    """The unit of a time label, in days ("Next month:" and "Months 2-3:" 30), or None."""
    m = _TIME_LABEL.match(label)
    if not m:
        return None
    unit = m.group(2).lower()
    unit = "quarter" if unit.startswith("q") and unit != "quarter" else (
        "half" if unit in ("h1", "h2") else unit)
    return _UNIT_DAYS[unit]


def _by_rank(found: list[int | None], days: list[int | None]) -> list[int | None]:
    """The horizons of a plan's time labels, read by their order when they rise through three
    units or more (``days``: each label's unit) and the fixed reading gives them two horizons
    only: "This week: ... Next month: ... Next quarter: ..." lays out near, mid and long, though
    a quarter alone reads mid (a new-user trial was credited with two horizons for it); the
    last must reach a quarter or more: "Week 1: ... Week 2: ... Month 1:" stays near, near, mid
    and "Day 1: ... Week 1: ... Month 1:" near, near, mid."""
    known = [d for d in days if d is not None]
    reaches = sorted(set(known))
    if (len(reaches) < 3 or known != sorted(known) or reaches[-1] < _UNIT_DAYS["quarter"]
            or len({h for h in found if h is not None}) != 2):
        return found
    return [None if d is None else 0 if d == reaches[0] else 2 if d == reaches[-1] else 1
            for d in days]


def _says_something(s: Sentence) -> bool:
    """A time label's line says something: a claim, or four words or more after the label that
    are neither a list of short items nor filler ("Quarter: latency-aware scaling as a product
    for all", not "Quarter: p99, KV cache" nor "Week 1:"), with three of them affirmed."""
    body = _BULLET.sub("", s.text)
    if len(_WORD.findall(asserted(body).lower())) < 3:
        return False
    if s.claim:
        return True
    lv = _LABEL_VALUE.match(body)
    value = lv.group(2) if lv else body
    return (len(_WORD.findall(value.lower())) >= 4 and not filler(s.text)
            and _list_items(value) is None)


def _phased(sents: list[Sentence], labels: list[str]) -> list[Sentence]:
    """Sentences opened (or headed) by time labels that lay out two horizons or more ("Week 1:
    ... Month 1: ... Quarter: ...") read each with its horizon's words; labels of one horizon
    only ("Day one: ... Day two: ...", "Week 1: ... Week 3: ...") say nothing of horizons, nor
    does a label over a noun string ("Week 1: p99, KV cache.") or over nothing affirmed."""
    found = _by_rank([_horizon(x) for x in labels], [_days(x) for x in labels])
    if len({h for h in found if h is not None}) < 2:
        return sents
    out = []
    for s, h in zip(sents, found, strict=True):
        if h is None or not _says_something(s):
            out.append(s)
            continue
        out.append(Sentence(text=s.text, read=f"{s.read} | {_HORIZON_WORDS[h]}",
                            full=f"{s.full} | {_HORIZON_WORDS[h]}",
                            claim=s.claim, quantity=s.quantity, negated=s.negated,
                            reasoned=s.reasoned, parts=s.parts))
    return out


@lru_cache(maxsize=2048)
def read_answer(text: str) -> tuple[Sentence, ...]:
    """The substantive sentences of one answer (injected grader talk removed, see
    agent/signals.py), each read for meaning. A heading over a list ("Short term:" then
    bulleted lines) carries its meaning to each item under it."""
    sents = substantive_sentences(text)
    spans = _headed_spans(text) if "\n" in text else []
    out: list[Sentence] = []
    labels: list[str] = []
    pos = 0
    for s in sents:
        at = text.find(s, pos) if spans else -1
        head = None
        if at >= 0:
            pos = at + len(s)
            head = next((h for a, b, h in spans if a <= at < b), None)
        out.append(_under(head, s) if head else read_sentence(s))
        labels.append(f"{head}:" if head else _BULLET.sub("", s))
    return tuple(_phased(out, labels))


#: What questions asked in depth read as, beside their own words (rubrics/cross_cutting.yaml's
#: "clarifying questions").
_IN_DEPTH = "clarifying questions"
#: How many distinct questions of some substance make a line of questioning.
MANY_QUESTIONS = 5


#: A question that proposes or muses rather than asks ("what about more GPUs?", "maybe some
#: kind of caching?", "I guess too many users at once?").
_MUSING = re.compile(r"\b(?:i guess|maybe|perhaps|what about|how about|what if|i was (?:also )?"
                     r"thinking|could it be|might it be)\b", re.IGNORECASE)


def question_of_substance(s: Sentence) -> bool:
    """A question of three words or more that asks something of its own: not filler, not a list
    of short items, not negated away, not a musing (see _MUSING)."""
    text = _BULLET.sub("", s.text).strip()
    if not text.endswith("?") or filler(text) or _MUSING.search(text):
        return False
    body = _LABEL_VALUE.match(text)
    words = _WORD.findall(asserted(text).lower())
    return len(words) >= 3 and _list_items(body.group(2) if body else text) is None


#: How close (the local embedding's cosine) a question must come to the case's prompt or one of
#: its facts to count towards a line of questioning about the case. Questions candidates asked
#: in the dev interviews: median 0.38, a tenth under 0.20 (mostly "Did I miss anything?");
#: off-topic ones ("How many plants are in the lobby?") 0.11-0.35, two of six at 0.2 or more;
#: six sharp plain-words questions about fintech's spikes 0.24-0.48. WordLlama cannot tell
#: much finer: at 0.3, two dev interviews' real questions ("When do the results have to be
#: ready?" 0.23, "Is accuracy negotiable?" 0.28) stopped counting.
ABOUT_THE_CASE = 0.2


def asked_in_depth(sents: Sequence[Sentence],
                   about: Callable[[list[str]], Sequence[float]] | None = None
                   ) -> list[Sentence]:
    """``sents`` with each question read as a clarifying question when they ask many (at least
    MANY_QUESTIONS distinct questions of substance, opened in three different ways or more): ten
    sharp questions from one seat are a line of questioning, not one shallow ask. A run of one
    question form ("What about p99? What about the KV cache? ...") is not, nor are questions
    about anything but the case: with ``about`` (each question's closeness to the case), only
    those at least :data:`ABOUT_THE_CASE` close count ("What color are the server racks? Who
    painted the office? ..." earned partial credit)."""
    asked = [s for s in sents if question_of_substance(s)]
    if about is not None and len(asked) >= MANY_QUESTIONS:
        close = about([s.text for s in asked])
        asked = [s for s, c in zip(asked, close, strict=True) if c >= ABOUT_THE_CASE]
    texts = {s.text.strip().lower() for s in asked}
    openings = {tuple(_WORD.findall(_BULLET.sub("", s.text).lower())[:2]) for s in asked}
    if len(texts) < MANY_QUESTIONS or len(openings) < 3:
        return list(sents)
    ids = {id(s) for s in asked}
    return [Sentence(text=s.text, read=f"{s.read} | {_IN_DEPTH}", full=f"{s.full} | {_IN_DEPTH}",
                     claim=s.claim, quantity=s.quantity, negated=s.negated, reasoned=s.reasoned,
                     parts=s.parts) if id(s) in ids else s for s in sents]
