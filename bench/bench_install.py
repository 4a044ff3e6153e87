"""Install time and size of the README's two install commands, each into a fresh virtualenv.

    python bench/bench_install.py            # both: the user's install and the dev one
    python bench/bench_install.py .          # one target

Prints wall time and the virtualenv's size on disk. pip's wheel cache is whatever this machine
has (say which when quoting the figures): the first run after a cache wipe also downloads.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def size_mb(path: Path) -> float:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total / 1e6


def measure(target: str) -> tuple[float, float, int]:
    """(seconds, MB, distributions installed) for ``pip install -e TARGET`` in a new venv."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-install-"))
    try:
        venv = tmp / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = venv / "bin" / "pip"
        base = size_mb(venv)
        started = time.perf_counter()
        subprocess.run([str(pip), "install", "--quiet", "-e", target], cwd=ROOT, check=True,
                       stderr=subprocess.DEVNULL)
        took = time.perf_counter() - started
        listed = subprocess.run([str(pip), "list", "--format=freeze"], capture_output=True,
                                text=True, check=True).stdout.splitlines()
        return took, size_mb(venv) - base, len(listed)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    targets = argv or [".", ".[dev]"]
    print(f"{'pip install -e':<16} {'seconds':>8} {'MB added':>9} {'packages':>9}")
    for target in targets:
        took, mb, n = measure(target)
        print(f"{target:<16} {took:>8.1f} {mb:>9.0f} {n:>9}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
