"""The README's first screen stays true: its two commands, and .ci/run runs the test one."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def first_block() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_the_first_screen_has_install_and_test_commands() -> None:
    install, test = first_block()
    assert README.index("```bash") < 1500  # on the first screen
    assert "pip install -e" in install and install.rstrip().endswith("interviewer chat")
    assert test == "python -m pytest -p no:cacheprovider"


def test_ci_runs_the_readme_test_command() -> None:
    _, test = first_block()
    assert test in CI
    assert "-m venv" in CI and "no tests ran" in CI
