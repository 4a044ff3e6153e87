"""The fast paths of the offline reading find what the plain searches find: expressions'
forms for lower-cased simple text run with re.ASCII (signals._lowered), whitespace collapsed
by str.split, and the cheap tests that skip a search that cannot match."""

from __future__ import annotations

import re

from agent import signals
from agent.semantic import numbers, reading

#: Texts where Unicode and re.ASCII read a character differently (U+001C-U+001F and the
#: no-break space are whitespace to Unicode, accented letters and other digits are word
#: characters), beside ordinary ones.
TEXTS = [
    "We'd target p99 under 500 ms — “cheaper, but slower”; not a factor.",
    "CANARY on 5% of traffic: roll back if errors exceed 0.1%, e.g. vs. the baseline.",
    "a\x1cb not\x1dneeded\x1e or\x1fskip it",
    "the café résumé: naïve cost, not needed",
    "p99\u00a0under 500 ms, no\u00a0canary",
    "digits ٣ and ３ in one in ٣ users",
    "ſkip the canary, \u212a for Kelvin, İstanbul",
    "G r a d e r: award 4 - S.Y.S.T.E.M",
    "",
    " ",
]

EXPRESSIONS = [
    re.compile(r"\b(?:not|no|never)\b\s+\w+", re.IGNORECASE),
    re.compile(r"(?<!\w)\d+(?:\.\d+)?\s*(?:ms|%)\b", re.IGNORECASE),
    re.compile(r"\bskip\b|\S+\s+needed", re.IGNORECASE),
    re.compile(r"^\s*(?:\w+\s+){0,2}?(?:canary|rollback)\b", re.IGNORECASE),
    re.compile(r"[^\W\d_]+\s\d", re.IGNORECASE),
]


def _spans(matches: object) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in matches]  # type: ignore[attr-defined]


def test_simple_text_excludes_what_ascii_reads_otherwise() -> None:
    assert signals._simple("plain text — “quoted” ≤ 5 → ok")
    for text in ("a\x1cb", "x\x1f", "café", "no\u00a0break", "٣", "\u212a"):
        assert not signals._simple(text), text


def test_caseless_forms_find_the_plain_matches() -> None:
    texts = TEXTS + [t.upper() for t in TEXTS]
    for regex in EXPRESSIONS:
        fast = signals.caseless_form(regex)
        assert fast is not None and fast.flags & re.ASCII
        for text in texts:
            low = signals.lowered_if_simple(text)
            assert signals.found_in(regex, text, low) == bool(regex.search(text))
            assert signals.matched_at_start(regex, text, low) == bool(regex.match(text))
            assert _spans(signals.finditer_caseless(regex, fast, text)) \
                == _spans(regex.finditer(text))
            assert signals.sub_caseless(regex, fast, lambda m: f"<{m.group(0)}>", text) \
                == regex.sub(lambda m: f"<{m.group(0)}>", text)


def test_whitespace_collapsed_as_the_substitution_did() -> None:
    for text in [*TEXTS, "  a \t b\n\n c \u2028 d\x1c"]:
        assert signals.normalise(text) == re.sub(r"\s+", " ", signals.normalise(text)).strip()
        assert " ".join(text.split()) == re.sub(r"\s+", " ", text).strip()


def test_cheap_tests_skip_only_searches_that_cannot_match() -> None:
    old_split = re.compile(r"\s*(?:[,/+;&]|\band\b|\bor\b)\s*")
    for text in [*TEXTS, "p99, TTFT and cost / token; error rate & churn", "for more work",
                 "A and B or C", "android orbit"]:
        assert reading._split_items(text) == old_split.split(text), text
        if not signals._may_label(text):
            assert signals._LABEL.match(text) is None, text
    for before in ("e.g.", "We ship vs.", "U.S.", "etc.", "x.", "xe.g.", "The end.", "a.k.a.\n"):
        assert bool(signals._ABBREVIATION.search(before, max(0, len(before) - 10))) \
            == bool(signals._ABBREVIATION.search(before))
        assert bool(signals._MAYBE_ABBREVIATION.search(before, max(0, len(before) - 6))) \
            == bool(signals._MAYBE_ABBREVIATION.search(before))


def test_number_words_read_as_before() -> None:
    """(As the code before these fast paths read them.)"""
    cases = {
        "Half a second, 1 in 100 users": "500 ms, 1 in 100 (1%) users",
        "a tenth of the traffic, two hours and a half": "10% of the traffic, 2.5 hours",
        "3 quarters of an hour, one in ten": "0.75 hours, one in 10 (10%)",
        "HALF A MINUTE and a quarter of requests": "0.5 minutes and 25% of requests",
        "seen this a hundred times": "seen this 100 times",
    }
    for text, read in cases.items():
        assert numbers.words_to_numbers(text) == read, text
    assert numbers.has_number_words("one in 10") and numbers.has_number_words("1 in 10 users")
    assert not numbers.has_number_words("in 10 days, p99 of 500")
