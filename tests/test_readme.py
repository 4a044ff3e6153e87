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
    assert "pip install -e ." in install and install.rstrip().endswith("interviewer chat")
    assert test == ('pip install -e ".[dev]" && interviewer setup && '
                    'python -m pytest -p no:cacheprovider')


def test_the_run_command_installs_only_what_a_user_needs() -> None:
    """Issue 14, defect 8: the first command installed the dev tools (mypy, ruff, langgraph-cli
    with grpcio and opentelemetry) before the first question."""
    import tomllib

    install, _ = first_block()
    assert "[" not in install.split("pip install -e", 1)[1].split("&&")[0]  # no extra
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = " ".join(project["dependencies"])
    for tool in ("pytest", "ruff", "mypy", "langgraph-cli", "respx", "scipy", "scikit-learn"):
        assert tool not in core, tool
    dev = " ".join(project["optional-dependencies"]["dev"])
    extras = re.search(r"interviewer\[([a-z,]+)\]", dev)
    assert extras and {"eval", "server"} <= set(extras.group(1).split(",")) and "pytest" in dev


def test_ci_runs_the_readme_test_command() -> None:
    _, test = first_block()
    for part in test.split(" && "):
        assert part in CI, part
    assert "-m venv" in CI and "no tests ran" in CI
