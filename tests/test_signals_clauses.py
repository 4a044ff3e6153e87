"""signals.required_clauses: every set of strings a match of an expression must hold one of,
and the searches they rule out (everyday words, reachable plans, a group's candidates)."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from pathlib import Path

import pytest

from agent import signals

ROOT = Path(__file__).resolve().parents[1]


def _dev_sentences() -> list[str]:
    said = [t["text"] for line in (ROOT / "evals/datasets/dev.jsonl").read_text().splitlines()
            for t in json.loads(line)["turns"] if t["role"] == "candidate"]
    return [s for text in said for s in signals.sentences(text)]


def test_every_match_holds_one_string_of_each_clause() -> None:
    """Checked on every ``re:`` pattern shipped in the data files against every sentence of
    the dev interviews (and some shouted): each match in simple text holds a string of every
    clause itself; the clauses must rule out sentences that the one set of required_literals
    lets through (else they save nothing)."""
    from tests.helpers import shipped_expressions

    found = set(shipped_expressions())
    sents = _dev_sentences()
    sents += [s.upper() for s in sents[::7]]
    sents = [s for s in sents if signals._simple(s)]
    joined = signals.JOIN.join(sents)
    lows = [s.lower() for s in sents]
    with_clauses = more = 0
    for source in sorted(found):
        clauses = signals.required_clauses(source)
        if not clauses:
            continue
        with_clauses += 1
        assert len(clauses) <= signals._MOST_CLAUSES
        regex = re.compile(source, re.IGNORECASE)
        for m in regex.finditer(joined):
            got = m.group(0).lower()
            assert all(any(x in got for x in c) for c in clauses), (source, clauses, got)
        needs = signals.required_literals(source)
        if needs is not None and len(clauses) > 1:
            more += sum(any(n in low for n in needs)
                        and not all(any(x in low for x in c) for c in clauses) for low in lows)
    assert with_clauses > len(found) // 2
    assert more > 1000
    assert signals.required_clauses(r"\bcost(?:s)? per (?:request|token)") == (
        frozenset({" per "}), frozenset({"request", "token"}), frozenset({"cost"}))
    assert signals.required_clauses(r"\d+\s*%") == ()
    assert signals.required_clauses("caf\u00e9 au lait") == ()  # folding beyond ASCII
    assert signals.required_clauses("foo\\nbar|foo") == (frozenset({"foo"}),)  # no line break
    assert signals.clauses_met(((frozenset({"a"}), frozenset({"b", "c"})),), {"a", "c"})
    assert not signals.clauses_met(((frozenset({"a"}), frozenset({"b"})),), {"a", "c"})
    assert signals.clauses_met(((frozenset({"a"}), frozenset({"b"})), (frozenset({"c"}),)),
                               {"a", "c"})


_PILE = ("re:\\b(?:requests?|calls?)\\s+(?:\\w+\\s+)?(?:pile|piles|piled|piling) up\\b",)


def test_everyday_words_are_searched_only_where_their_clauses_are_met(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """signals.matching_in searches a group's expressions only when its clauses are met: the
    same groups as first_match on every dev sentence (and its reading) for the shipped
    everyday words, and no search at all where a needed string occurs without the rest."""
    from agent.prompts import scoring_words
    from agent.semantic.reading import read_answer

    groups = (*(says for _, says in scoring_words().values()), _PILE)
    union = signals.union_of(groups)
    texts = {x for s in _dev_sentences()[::3] for r in read_answer(s)
             for x in (r.text, r.read)}
    texts |= {"requests are up again", "requests piled up at noon", "Requests PILE up"}
    for text in sorted(texts):
        assert signals.matching_in(union, text) == {
            i for i, g in enumerate(groups) if signals.first_match(g, text)}, text
    searched: list[tuple[str, ...]] = []
    real = signals._regex_search

    def counted(plan: signals._Plan, text: str, low: str | None) -> re.Match[str] | None:
        searched.append(plan.regex_sources)
        return real(plan, text, low)

    monkeypatch.setattr(signals, "_regex_search", counted)
    mine = signals.union_of((_PILE,))
    assert signals.matching_in(mine, "requests are up again") == set()
    assert searched == []  # "request" occurs, "pil" does not
    assert signals.matching_in(mine, "requests piled up at noon") == {0}
    assert searched == [_PILE]


def test_reachable_names_the_expressions_that_could_match() -> None:
    """signals.reachable names a plan's expressions (its id plus reach.offset) only where
    their clauses are met; first_match_planned told so finds what it finds searching all
    patterns, on every sentence and reading of the dev interviews for every rubric's groups,
    and the expressions of many plans whose needed strings occur are left out."""
    from tests.helpers import dev_readings, rubric_plans

    plans = (*rubric_plans(), _PILE, ("piles*", *_PILE))
    reach = signals.reach_of(plans)
    assert reach.offset == len(reach.ids)
    scan = signals.KeyScan(reach.strings)
    texts = dev_readings() | {"requests are up again", "requests piled up",
                              "İstanbul requests piled up"}
    found = skipped = 0
    for text in sorted(texts):
        can = signals.reachable(reach, text, scan)
        low = signals.lowered_if_simple(text)
        for p in plans:
            plan = signals.search_plan(p)
            if not plan.regex_sources:
                continue
            pid = reach.ids[p]
            told = signals.first_match_planned(plan, text, scan, pid + reach.offset in can)
            whole = signals.first_match_planned(plan, text, scan)
            assert (told and told.span()) == (whole and whole.span()), (p, text)
            found += whole is not None
            skipped += (pid + reach.offset not in can
                        and signals.may_match(plan.regex_needs, low))
    assert found > 1000 and skipped > 1000
    pid = reach.ids[_PILE]
    assert pid + reach.offset not in signals.reachable(reach, "requests are up again", scan)
    assert pid + reach.offset in signals.reachable(reach, "requests piled up", scan)


def test_a_groups_expressions_are_searched_only_in_sentences_meeting_their_clauses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """signals.Candidates, given the step's keys (covering the clauses' strings), searches a
    group's expressions over the joined sentences only in the sentences where their clauses
    are met, and whether the step holds a string they need at all is read from the same keys
    (no scan of the joined text): the sentences its matches touch must be those a plain
    search from start to end finds, for every rubric group's expressions over every dev step;
    and both must be used."""
    from agent.rubrics import default_rubrics
    from agent.semantic.claims import _plans
    from agent.semantic.reading import read_answer
    from evals.dataset import load_dataset

    rubrics = default_rubrics()
    plans = set(_plans(tuple(tuple(g) for step in rubrics.hashes
                             for c in rubrics[step].criteria for g in c.signals)))
    plans = {p for p in plans if signals.search_plan(p).regex_sources} | {_PILE}
    reach = signals.reach_of(tuple(sorted(plans)))
    scan = signals.KeyScan(reach.strings)
    items = load_dataset(Path("evals/datasets/dev.jsonl")).interviews[:15]
    steps = [[s.full for t in item.turns if t.role == "candidate" and t.step == step
              for s in read_answer(t.text)] for item in items for step in rubrics.hashes]
    steps.append(["requests are up", "and then the calls piled up.", "requests piled up"])
    used = compared = 0
    asked: list[str | None] = []
    real = signals.may_match

    def counted(needs: frozenset[str] | None, low: str | None) -> bool:
        if needs is not None:
            asked.append(low)
        return real(needs, low)

    monkeypatch.setattr(signals, "may_match", counted)
    for sents in filter(None, steps):
        joined = signals.JOIN.join(sents)
        lowered = joined.lower()
        starts, pos = [], 0
        for x in sents:
            starts.append(pos)
            pos += len(x) + len(signals.JOIN)
        keys = [scan.found(lowered[a:a + len(x)]) for a, x in zip(starts, sents, strict=True)]
        by_key = signals.key_sentences(keys)
        indexed = signals.key_sentences(keys, reach.indexed)
        assert indexed.at == {k: v for k, v in by_key.at.items() if k in reach.indexed}
        assert reach.indexed < scan.keys
        for p in sorted(plans):
            found = signals.candidate_sentences(p, joined, lowered, starts, keys, by_key,
                                                scan.keys)
            if found is None:
                continue
            every = found.every() if isinstance(found, signals.Candidates) else found
            regex = signals._combined(signals.search_plan(p).regex_sources)
            assert regex is not None
            touched: set[int] = set()
            m = regex.search(joined)
            while m is not None:
                last = bisect_right(starts, max(m.end() - 1, m.start())) - 1
                touched.update(range(bisect_right(starts, m.start()) - 1, last + 1))
                m = regex.search(joined, starts[last + 1]) if last + 1 < len(starts) else None
            assert every == set(found.keyed if isinstance(found, signals.Candidates)
                                else found) | touched, (p, sents)
            compared += 1
            used += isinstance(found, signals.Candidates) and found._could is not None
            if p == _PILE and sents[0] == "requests are up":
                assert isinstance(found, signals.Candidates) and found._could == ([1, 2], True)
    assert compared > 1000 and used > compared / 10
    assert asked == []  # the step's keys said whether a needed string occurs
