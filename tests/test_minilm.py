"""The experimental numpy MiniLM encoder (agent/semantic/minilm.py, branch ``minilm``).

The weights are not shipped: the tests that run the model need ``INTERVIEWER_MINILM_DIR`` (the
all-MiniLM-L6-v2 model directory) and are skipped without it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from agent.semantic import minilm
from agent.semantic.model import SemanticModelError

DIR = os.environ.get(minilm.ENV, "")
needs_model = pytest.mark.skipif(not DIR or not Path(DIR, "model.safetensors").is_file(),
                                 reason=f"{minilm.ENV} does not name the model directory")


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
