"""Token prices for cost estimates, in US dollars per million tokens.

The built-in table is a rough guide; override it with ``--prices FILE`` or
``$INTERVIEWER_HOME/prices.toml``, a TOML table per model:
    ["gpt-4o-mini"]
    input = 0.15
    output = 0.60
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from agent.config import ConfigError
from agent.paths import home

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "accounts/fireworks/models/llama-v3p1-70b-instruct": (0.90, 0.90),
    "accounts/fireworks/models/llama-v3p1-8b-instruct": (0.20, 0.20),
    "llama3.1": (0.0, 0.0),
    "fake-model": (0.0, 0.0),
}


def load_prices(path: Path | None = None) -> dict[str, tuple[float, float]]:
    prices = dict(DEFAULT_PRICES)
    path = path or home() / "prices.toml"
    if not path.is_file():
        if path != home() / "prices.toml":
            raise ConfigError(f"--prices: {path} does not exist")
        return prices
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from None
    for model, entry in data.items():
        if not isinstance(entry, dict) or not {"input", "output"} <= set(entry):
            raise ConfigError(f"{path}: model {model!r} needs 'input' and 'output' prices")
        try:
            prices[model] = (float(entry["input"]), float(entry["output"]))
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: model {model!r}: prices must be numbers") from None
    return prices


def cost(prices: dict[str, tuple[float, float]], model: str, prompt_tokens: int,
         completion_tokens: int) -> float | None:
    """Estimated dollars, or None for a model with no price."""
    if model not in prices:
        return None
    pin, pout = prices[model]
    return (prompt_tokens * pin + completion_tokens * pout) / 1_000_000
