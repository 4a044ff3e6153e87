"""Settings for model access and the interview, resolved in one place.

Precedence, highest first: command-line flags, environment variables, the config file
(``$INTERVIEWER_HOME/config.toml``), the provider preset, built-in defaults. With no endpoint
resolved (or ``--offline``) the interview runs offline.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.paths import home


class ConfigError(ValueError):
    """Bad settings; ``str()`` is one line naming the flag, variable or file at fault."""


@dataclass(frozen=True)
class Preset:
    base_url: str
    key_env: str | None
    model: str


PRESETS: dict[str, Preset] = {
    "openai": Preset("https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini"),
    "fireworks": Preset(
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        "accounts/fireworks/models/llama-v3p1-70b-instruct",
    ),
    "ollama": Preset("http://localhost:11434/v1", None, "llama3.1"),
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything needed to reach a model. The key is never printed (``repr=False``)."""

    provider: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None
    fallback_model: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3
    max_prompt_tokens: int = 16_000
    max_completion_tokens: int = 700

    @property
    def offline(self) -> bool:
        return self.base_url is None

    def describe(self) -> str:
        """Where the model lives, for banners and errors (never the key)."""
        if self.offline:
            return "offline"
        return f"{self.model} at {self.base_url}"


def read_key_file(path: Path) -> str:
    """A key file must be readable only by its owner: group/other permissions are refused."""
    try:
        st = path.stat()
    except OSError as e:
        raise ConfigError(f"api key file {path}: cannot read ({e.strerror})") from None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"api key file {path}: permissions {stat.filemode(st.st_mode)} let others read it; "
            f"run 'chmod 600 {path}'"
        )
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ConfigError(f"api key file {path}: is empty")
    return key


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    path = path or home() / "config.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from None
    if "api_key" in data:
        raise ConfigError(f"{path}: keys do not belong in config files; use api_key_file")
    allowed = {"provider", "base_url", "model", "fallback_model", "api_key_file", "timeout_s"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {sorted(allowed)})")
    return data


def resolve(
    *,
    provider: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    fallback_model: str | None = None,
    api_key_file: str | None = None,
    offline: bool = False,
    env: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Settings:
    """Combine flags (the arguments), environment and config file into Settings."""
    env = dict(os.environ) if env is None else env
    config = load_config_file() if config is None else config
    if offline:
        return Settings()

    def pick(flag: str | None, env_name: str | None, key: str) -> str | None:
        if flag:
            return flag
        if env_name and env.get(env_name):
            return env[env_name]
        value = config.get(key)
        return str(value) if value else None

    provider = pick(provider, "INTERVIEWER_PROVIDER", "provider")
    preset = None
    if provider:
        if provider not in PRESETS:
            raise ConfigError(
                f"--provider: unknown provider {provider!r} (choose from {', '.join(PRESETS)}, "
                "or pass --base-url for any OpenAI-compatible endpoint)"
            )
        preset = PRESETS[provider]
    url = pick(base_url, "INTERVIEWER_BASE_URL", "base_url") or (preset and preset.base_url)
    if not url:
        return Settings()
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url: {url!r} is not an http(s) URL")

    key_file = api_key_file or env.get("INTERVIEWER_API_KEY_FILE") or config.get("api_key_file")
    key = None
    if key_file:
        key = read_key_file(Path(str(key_file)).expanduser())
    key = key or env.get("INTERVIEWER_API_KEY")
    if not key and preset and preset.key_env:
        key = env.get(preset.key_env)
        if not key and not base_url:
            raise ConfigError(
                f"--provider {provider}: set {preset.key_env} (or INTERVIEWER_API_KEY) to its API "
                "key, or run with --offline"
            )
    chosen_model = pick(model, "INTERVIEWER_MODEL", "model") or (preset and preset.model)
    if not chosen_model:
        raise ConfigError(
            "--model: no model named for the endpoint; pass --model or set INTERVIEWER_MODEL"
        )
    timeout = env.get("INTERVIEWER_TIMEOUT") or config.get("timeout_s", 60.0)
    try:
        timeout = float(timeout)
    except ValueError:
        raise ConfigError(f"INTERVIEWER_TIMEOUT: {timeout!r} is not a number of seconds") from None
    if not 0 < timeout <= 600:
        raise ConfigError("INTERVIEWER_TIMEOUT: must be between 0 and 600 seconds")
    return Settings(
        provider=provider,
        base_url=url.rstrip("/"),
        api_key=key or "not-needed",
        model=chosen_model,
        fallback_model=pick(fallback_model, "INTERVIEWER_FALLBACK_MODEL", "fallback_model"),
        timeout_s=float(timeout),
    )
