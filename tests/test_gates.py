"""The by-tag table and the CI gates on eval results (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.gate import GateError, load_gates, run
from evals.tags import by_tag, to_text
from tests.conftest import run_cli


def item(iid: str, tags: list[str], gold: int, scores: list[float]) -> dict[str, object]:
    steps = ["clarify", "diagnose", "goals", "prioritize", "solutions", "validate"]
    return {"id": iid, "failed": False, "tags": tags, "profile": {},
            "steps": {s: {"gold": {"r1": gold}, "predicted": [int(x + 0.5)], "score": [x]}
                      for s, x in zip(steps, scores, strict=True)},
            "criteria": {}}


def results(items: list[dict[str, object]], name: str = "dev") -> dict[str, object]:
    return {"knobs": {"dataset": {"name": name}}, "items": items,
            "metrics": {"by_interview_tag": by_tag(items)}}


SALAD_LOW = item("a", ["keyword_salad"], 1, [1.0, 1.2, 1.0, 1.4, 1.0, 1.1])
SALAD_HIGH = item("b", ["keyword_salad"], 1, [2.6, 2.2, 2.0, 2.4, 2.8, 2.1])
GENUINE = [item(f"g{i}", [], lv, [lv + 0.1] * 6) for i, lv in enumerate((1, 2, 3, 4, 2, 3))]


def test_every_tag_gets_a_row_with_means_bands_and_agreement() -> None:
    table = by_tag([SALAD_LOW, SALAD_HIGH, *GENUINE])
    salad = table["interview"]["keyword_salad"]
    assert salad["interviews"] == 2 and salad["no_hire"] == 1
    assert salad["gold_mean"] == 1.0 and salad["predicted_mean"] == pytest.approx(1.73, abs=0.01)
    assert table["interview"]["genuine"]["interviews"] == 6
    assert table["interview"]["genuine"]["steps_qwk"] == 1.0
    assert table["interview"]["all"]["interviews"] == 8
    text = to_text(table)
    assert "keyword_salad" in text and "1/2" in text and "genuine" in text


def write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


def test_a_failing_gate_is_named_and_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, results([SALAD_LOW, SALAD_HIGH, *GENUINE]))
    status, text = run(path, Path("evals/gates.toml"))
    assert status == 1
    assert "FAILED: keyword-salad interviews band no hire" in text
    assert "FAILED: keyword-salad interviews average at most 1.5 a step" in text
    assert "no data" in text  # negated, fluent_wrong: not in these results


def test_a_gate_whose_tag_has_no_interviews_fails_unless_optional(tmp_path: Path) -> None:
    path = write(tmp_path, results([SALAD_LOW, *GENUINE], name="other"))
    status, text = run(path, Path("evals/gates.toml"))
    assert status == 1  # negated and fluent_wrong: no interviews in these results
    assert "FAILED: negated interviews band no hire (no data)" in text
    assert "FAILED: keyword-salad" not in text
    # the QWK floors are per split (dev, heldout): listed as skipped, not checked
    assert "skipped genuine answers: step QWK not below the pre-issue-9 scorer" in text
    assert "pass    genuine answers" not in text and "FAILED: genuine" not in text
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nname = "salad"\ntag = "keyword_salad"\nmetric = '
                     '"no_hire_share"\nmin = 1\n\n[[gate]]\nname = "negated, when there are '
                     'some"\ntag = "negated"\nmetric = "no_hire_share"\nmin = 1\n'
                     'optional = true\n')
    status, text = run(path, gates)
    assert status == 0 and "All enforced gates passed." in text
    assert "no data negated, when there are some" in text and "(optional)" in text
    assert "the datasets use it, but these results hold no interview with it" in text
    assert run(path, gates, strict=True)[0] == 1


def test_a_typo_in_a_gate_tag_fails_naming_the_tags_there_are(tmp_path: Path,
                                                              home: Path) -> None:
    """A gate on 'keyword_sallad' used to print "no data" and pass: it would never check
    anything."""
    path = write(tmp_path, results([SALAD_LOW, *GENUINE]))
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nname = "typo tag"\ntag = "keyword_sallad"\n'
                     'metric = "no_hire_share"\nmin = 1\n')
    proc = run_cli(home, "eval", "gate", str(path), "--config", str(gates))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "All enforced gates passed" not in proc.stdout
    assert ("tag 'keyword_sallad' matches no interview in these results (tags here: all, "
            "keyword_salad, genuine); did you mean 'keyword_salad'?") in proc.stdout
    assert "FAILED: typo tag (no data)" in proc.stdout
    gates.write_text('[[gate]]\nname = "typo tag"\ntag = "keyword_sallad"\n'
                     'metric = "no_hire_share"\nmin = 1\noptional = "yes"\n')
    with pytest.raises(GateError, match=r"gate 1 \(typo tag\): optional must be true or false"):
        load_gates(gates)


def test_the_gate_command_names_bad_config_and_results(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / "gates.toml"
    bad.write_text('[[gate]]\nname = "x"\ntag = "all"\nmetric = "speed"\nmin = 1\n')
    with pytest.raises(GateError, match=r"gates.toml: gate 1 \(x\): metric 'speed'"):
        load_gates(bad)
    path = write(tmp_path, results([SALAD_LOW, *GENUINE]))
    proc = run_cli(home, "eval", "gate", str(path), "--config", str(bad))
    assert proc.returncode == 2 and "metric 'speed'" in proc.stderr
    proc = run_cli(home, "eval", "gate", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "missing.json: no such file" in proc.stderr
    assert "Errno" not in proc.stderr
    proc = run_cli(home, "eval", "gate", str(path))  # evals/gates.toml: no negated interviews
    assert proc.returncode == 1 and "FAILED: negated interviews band no hire (no data)" in (
        proc.stdout)
    assert "pass    keyword-salad interviews average at most 1.5 a step" in proc.stdout


def test_gate_and_behaviour_take_the_gates_file_by_either_spelling(tmp_path: Path,
                                                                    home: Path) -> None:
    """`eval gate` documents --config and `eval behaviour` --gates; each takes the other's
    spelling too (a bad file is refused before any work, so the file was read by either)."""
    bad = tmp_path / "gates.toml"
    bad.write_text('[[gate]]\nname = "x"\ntag = "all"\nmetric = "speed"\nmin = 1\n')
    path = write(tmp_path, results([SALAD_LOW, *GENUINE]))
    proc = run_cli(home, "eval", "gate", str(path), "--gates", str(bad))
    assert proc.returncode == 2 and "metric 'speed'" in proc.stderr, proc.stderr
    bad_behaviour = tmp_path / "b.toml"
    bad_behaviour.write_text("[[behaviour]]\nname = 1\n", encoding="utf-8")
    proc = run_cli(home, "eval", "behaviour", "evals/datasets/dev.jsonl", "--config",
                   str(bad_behaviour))
    assert proc.returncode == 2 and str(bad_behaviour) in proc.stderr, proc.stderr
    for command, alias in (("gate", "--gates is an alias"), ("behaviour", "--config is an alias")):
        shown = " ".join(run_cli(home, "eval", command, "--help").stdout.split())
        assert "--config PATH, --gates PATH" in shown or "--gates PATH, --config PATH" in shown
        assert alias in shown


def test_a_gate_not_enforced_is_printed_but_does_not_fail(tmp_path: Path) -> None:
    config = tmp_path / "gates.toml"
    config.write_text('[[gate]]\nname = "salad"\ntag = "keyword_salad"\n'
                      'metric = "step_score_mean"\nmax = 1.5\nenforce = false\n')
    path = write(tmp_path, results([SALAD_HIGH, *GENUINE]))
    status, text = run(path, config)
    assert status == 0 and "KNOWN FAILING (not enforced): salad" in text
    config.write_text(config.read_text().replace("enforce = false", "enforce = true"))
    assert run(path, config)[0] == 1


def test_an_interview_mixing_adversarial_tags_is_left_out_of_the_tag_rows() -> None:
    mixed = item("m", ["keyword_salad", "plain_words_strong"], 3, [3.0] * 6)
    flagged = {**item("f", ["negated"], 3, [3.0] * 6), "mixed": True}
    table = by_tag([SALAD_LOW, mixed, flagged, *GENUINE])
    assert table["interview"]["keyword_salad"]["interviews"] == 1
    assert "negated" not in table["interview"] and "plain_words_strong" not in table["interview"]
    assert table["interview"]["all"]["interviews"] == 9


def test_gates_of_another_split_are_listed_as_skipped_and_fail_with_strict(tmp_path: Path,
                                                                          home: Path) -> None:
    """A results file of a copy of dev ("dev-plus") skipped the dev gates without a word and
    printed "All enforced gates passed." (also with --strict)."""
    path = write(tmp_path, results([SALAD_LOW, *GENUINE], name="dev-plus"))
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nname = "salad"\ntag = "keyword_salad"\nmetric = '
                     '"no_hire_share"\nmin = 1\n\n[[gate]]\nname = "dev qwk"\ntag = "all"\n'
                     'metric = "steps_qwk"\nmin = 0.5\nsplit = "dev"\n')
    status, text = run(path, gates)
    assert status == 0, text
    assert "skipped dev qwk (all, steps_qwk): only for split 'dev'; these results are on " \
           "'dev-plus'" in text
    assert "1 of 2 gates skipped" in text and "All enforced gates passed." not in text
    status, text = run(path, gates, strict=True)
    assert status == 1 and "FAILED: dev qwk (skipped)" in text
    proc = run_cli(home, "eval", "gate", str(path), "--config", str(gates), "--strict")
    assert proc.returncode == 1 and "FAILED: dev qwk (skipped)" in proc.stdout
    # results on a split with gates of its own skip the other split's gates by design
    gates.write_text(gates.read_text() + '\n[[gate]]\nname = "held-out qwk"\ntag = "all"\n'
                     'metric = "steps_qwk"\nmin = 0.5\nsplit = "heldout"\n')
    path = write(tmp_path, results([SALAD_LOW, *GENUINE], name="heldout"))
    status, text = run(path, gates, strict=True)
    assert status == 0, text
    assert "skipped dev qwk" in text and "'heldout' has split gates of its own" in text


def test_no_gate_applying_fails_and_an_unknown_split_is_an_error(tmp_path: Path,
                                                                 home: Path) -> None:
    """Zero gates checked used to print "All enforced gates passed." and exit 0; a typo'd split
    ("devv") skipped its gates silently."""
    path = write(tmp_path, results([SALAD_LOW, *GENUINE], name="dev-plus"))
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nname = "dev qwk"\ntag = "all"\nmetric = "steps_qwk"\n'
                     'min = 0.5\nsplit = "dev"\n')
    status, text = run(path, gates)
    assert status == 1
    assert "FAILED: no gate of" in text and "all 1 are for another split (dev)" in text
    assert "All enforced gates" not in text
    gates.write_text('[[gate]]\nname = "dev qwk"\ntag = "all"\nmetric = "steps_qwk"\n'
                     'min = 0.5\nsplit = "devv"\n')
    with pytest.raises(GateError, match=r"gate 1 \(dev qwk\): split 'devv' names no dataset "
                       r"\(known: dev, dev-plus, heldout\); did you mean 'dev'\?"):
        run(path, gates)
    proc = run_cli(home, "eval", "gate", str(path), "--config", str(gates))
    assert proc.returncode == 2 and "split 'devv' names no dataset" in proc.stderr
    assert "did you mean 'dev'?" in proc.stderr
    # the results' own dataset name is a split a gate may name
    gates.write_text('[[gate]]\nname = "mine"\ntag = "all"\nmetric = "steps_qwk"\n'
                     'min = 0.5\nsplit = "dev-plus"\n')
    assert run(path, gates)[0] == 0
