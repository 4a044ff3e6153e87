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
from urllib.parse import urlsplit

from agent.paths import home


class ConfigError(ValueError):
    """Bad settings; ``str()`` is one line naming the flag, variable or file at fault."""


@dataclass(frozen=True)
class Preset:
    base_url: str
    key_env: str | None
    model: str | None
    """None: the server serves whatever it was started with, so --model must name it."""
    context_tokens: int
    """The context window we plan prompts for (the server's own setting may be smaller:
    llama.cpp's --ctx-size, Ollama's num_ctx; set context_tokens to match)."""
    max_concurrency: int
    """Background judge calls in flight at once; 1 for servers that serve one at a time."""


PRESETS: dict[str, Preset] = {
    "openai": Preset("https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini", 128_000, 4),
    "fireworks": Preset(
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        "accounts/fireworks/models/llama-v3p1-70b-instruct",
        131_072, 4,
    ),
    "ollama": Preset("http://localhost:11434/v1", None, "llama3.1", 8_192, 1),
    "llamacpp": Preset("http://localhost:8080/v1", None, "local", 8_192, 1),
    "vllm": Preset("http://localhost:8000/v1", None, None, 8_192, 4),
    "lmstudio": Preset("http://localhost:1234/v1", None, None, 8_192, 1),
}

#: Context window assumed for an endpoint given by --base-url alone.
DEFAULT_CONTEXT_TOKENS = 16_384
#: Background judge calls for a --base-url endpoint: a server on this machine (llama.cpp,
#: Ollama, LM Studio) usually serves one request at a time; a remote API serves many.
LOCAL_MAX_CONCURRENCY, REMOTE_MAX_CONCURRENCY = 1, 4


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
    """A hard cap on a prompt; the effective budget is also bounded by context_tokens."""
    max_completion_tokens: int = 700
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    """The model's context window: a prompt leaves room for its reply within it."""
    max_concurrency: int = REMOTE_MAX_CONCURRENCY
    """Background judge calls in flight at once (the interviewer's own calls always go)."""
    first_token_s: float = 20.0
    """Seconds the interviewer waits for the first word of a reply before using its standard
    text (the late reply is discarded)."""
    reply_s: float = 45.0
    """Seconds one interviewer utterance may take in all (its model calls together)."""
    forced_offline: bool = False
    """Offline because of ``--offline`` (not because no endpoint is configured)."""

    @property
    def offline(self) -> bool:
        return self.base_url is None

    def describe(self) -> str:
        """Where the model lives, for banners and errors (never the key)."""
        if self.offline:
            return "offline (forced by --offline)" if self.forced_offline else "offline"
        return f"{self.model} at {self.base_url}"



#: Longest key file read: keys are tens of bytes; anything this big is the wrong file.
MAX_KEY_FILE_BYTES = 64 * 1024

#: config.toml settings and the TOML types each accepts.
CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "provider": (str,), "base_url": (str,), "model": (str,), "fallback_model": (str,),
    "api_key_file": (str,), "timeout_s": (int, float), "context_tokens": (int,),
    "max_concurrency": (int,), "first_token_s": (int, float), "reply_s": (int, float),
    "database_url": (str,),  # where sessions live: agent/storage/url.py reads it
}

#: Numeric settings: (environment variable, kind, lowest, highest).
NUMBERS: dict[str, tuple[str, type, float, float]] = {
    "timeout_s": ("INTERVIEWER_TIMEOUT", float, 0, 600),
    "context_tokens": ("INTERVIEWER_CONTEXT_TOKENS", int, 1_024, 10_000_000),
    "max_concurrency": ("INTERVIEWER_MAX_CONCURRENCY", int, 1, 64),
    "first_token_s": ("INTERVIEWER_FIRST_TOKEN_S", float, 0, 600),
    "reply_s": ("INTERVIEWER_REPLY_S", float, 0, 600),
}


def quoted(value: str, limit: int = 80) -> str:
    """``value`` in quotes for a message: bytes that were not UTF-8 (command-line arguments
    keep them as surrogates) shown as ``\\xff``, unprintable characters escaped, long values
    cut."""
    try:
        text = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeError:
        text = value.encode("utf-8", "backslashreplace").decode("ascii")
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
    return "'" + (text if len(text) <= limit else text[:limit] + "…") + "'"


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a number",
             list: "an array", dict: "a table"}
    return names.get(type(value), f"a {type(value).__name__} value")


def check_key(key: str, where: str) -> str:
    """An API key with ordinary surrounding whitespace removed; refused (without echoing it)
    when it holds anything an HTTP header cannot carry as typed: inner whitespace, invisible,
    control or non-ASCII characters (a zero-width space pasted along with it, say)."""
    key = key.strip()
    for i, ch in enumerate(key):
        if not "\x21" <= ch <= "\x7e":
            what = "a space" if ch.isspace() else (
                "a non-ASCII or invisible character" if ord(ch) > 0x7F else "a control character")
            raise ConfigError(
                f"the API key from {where} contains {what} (character {i + 1} of {len(key)}), "
                "which no API key has; copy the key again without it (the key is not shown)")
    return key


def read_key_file(path: Path) -> str:
    """A key file must be readable only by its owner: group/other permissions are refused."""
    where = f"api key file {path}"
    try:
        st = path.stat()
    except OSError as e:
        from agent.datafile import unreadable

        raise ConfigError(f"{where}: {unreadable(e)}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ConfigError(f"{where}: is {kind}; pass the file that holds the key")
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{where}: permissions {stat.filemode(st.st_mode)} let others read it; "
            f"run 'chmod 600 {path}'"
        )
    if st.st_size > MAX_KEY_FILE_BYTES:
        raise ConfigError(f"{where}: is {st.st_size:,} bytes, too big to be a key file")
    try:
        raw = path.read_bytes()
    except OSError as e:
        from agent.datafile import unreadable

        raise ConfigError(f"{where}: {unreadable(e)}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{where}: is not UTF-8 text (a key file holds the key as text)") from None
    key = check_key(text, where)
    if not key:
        raise ConfigError(f"{where}: is empty")
    return key


def check_base_url(url: str, where: str) -> str:
    """An http(s) URL with a host; ``where`` names the flag, variable or file it came from."""
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise ConfigError(f"{where}: {quoted(url)} is not a valid URL ({e})") from None
    if parts.scheme.lower() not in ("http", "https") or not url.lower().startswith(
            ("http://", "https://")):
        raise ConfigError(f"{where}: {quoted(url)} is not an http(s) URL")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ConfigError(f"{where}: {quoted(url)} is not a valid URL (it contains spaces or "
                          "unprintable characters)")
    host = parts.hostname
    if not host:
        raise ConfigError(f"{where}: {quoted(url)} has no host (e.g. http://localhost:11434/v1)")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(f"{where}: {quoted(url)} has an invalid port") from None
    if not host.isascii():
        try:
            host.encode("idna")
        except UnicodeError:
            raise ConfigError(f"{where}: {quoted(url)} has an invalid host name") from None
    elif not all(ch.isalnum() or ch in ".-_:%" for ch in host):
        raise ConfigError(f"{where}: {quoted(url)} has an invalid host name")
    return url


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    path = path or home() / "config.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from None
    except OSError as e:
        from agent.datafile import unreadable

        raise ConfigError(f"{path}: {unreadable(e)}") from None
    if "api_key" in data:
        raise ConfigError(f"{path}: keys do not belong in config files; use api_key_file")
    allowed = set(CONFIG_TYPES)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {sorted(allowed)})")
    for name, value in data.items():
        types = CONFIG_TYPES[name]
        if isinstance(value, bool) or not isinstance(value, types):
            want = ("a number of seconds" if float in types else "an integer" if int in types
                    else "a string")
            raise ConfigError(f"{path}: setting {name!r} must be {want}, not {_toml_type(value)}")
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
    """Combine flags (the arguments), environment and config file into Settings.

    ``offline`` wins over everything, and reads nothing: a broken config file, endpoint or key
    never stops an offline interview."""
    if offline:
        return Settings(forced_offline=True)
    env = dict(os.environ) if env is None else env
    if config is None:
        config_name = str(home() / "config.toml")
        config = load_config_file()
    else:
        config_name = "config.toml"

    def pick(flag: str | None, flag_name: str, env_name: str | None,
             key: str) -> tuple[str | None, str]:
        """The value and where it came from (for error messages)."""
        if flag:
            return flag, flag_name
        if env_name and env.get(env_name):
            return env[env_name], env_name
        value = config.get(key)
        return (str(value), f"{config_name}: {key}") if value else (None, "")

    provider, provider_from = pick(provider, "--provider", "INTERVIEWER_PROVIDER", "provider")
    preset = None
    if provider:
        if provider not in PRESETS:
            raise ConfigError(
                f"{provider_from}: unknown provider {provider!r} (choose from "
                f"{', '.join(PRESETS)}, or pass --base-url for any OpenAI-compatible endpoint)"
            )
        preset = PRESETS[provider]
    url, url_from = pick(base_url, "--base-url", "INTERVIEWER_BASE_URL", "base_url")
    url = url.strip() if url else url
    if not url and preset:
        url, url_from = preset.base_url, f"--provider {provider}"
    if not url:
        return Settings()
    check_base_url(url, url_from)

    key_file = api_key_file or env.get("INTERVIEWER_API_KEY_FILE") or config.get("api_key_file")
    key = None
    if key_file:
        key = read_key_file(Path(str(key_file)).expanduser())
    if not key and env.get("INTERVIEWER_API_KEY", "").strip():
        key = check_key(env["INTERVIEWER_API_KEY"], "INTERVIEWER_API_KEY")
    if not key and preset and preset.key_env:
        if env.get(preset.key_env, "").strip():
            key = check_key(env[preset.key_env], preset.key_env)
        if not key and not base_url:
            raise ConfigError(
                f"--provider {provider}: set {preset.key_env} (or INTERVIEWER_API_KEY) to its API "
                "key, or run with --offline"
            )
    chosen_model = pick(model, "--model", "INTERVIEWER_MODEL", "model")[0] or (
        preset and preset.model)
    if not chosen_model:
        which = (f"--provider {provider} serves the model it was started with, so name it"
                 if preset else "no model named for the endpoint")
        raise ConfigError(f"--model: {which}; pass --model or set INTERVIEWER_MODEL")
    defaults: dict[str, float] = {
        "timeout_s": 60.0,
        "context_tokens": preset.context_tokens if preset else DEFAULT_CONTEXT_TOKENS,
        "max_concurrency": preset.max_concurrency if preset else (
            LOCAL_MAX_CONCURRENCY if is_local(url) else REMOTE_MAX_CONCURRENCY),
        "first_token_s": Settings.first_token_s, "reply_s": Settings.reply_s,
    }
    numbers = {name: _number(name, env, config, config_name, default)
               for name, default in defaults.items()}
    if numbers["first_token_s"] > numbers["reply_s"]:
        raise ConfigError(f"first_token_s ({numbers['first_token_s']:g} s) is longer than "
                          f"reply_s ({numbers['reply_s']:g} s): the first word cannot take "
                          "longer than the whole reply")
    return Settings(
        provider=provider,
        base_url=url.rstrip("/"),
        api_key=key or "not-needed",
        model=chosen_model,
        fallback_model=pick(fallback_model, "--fallback-model", "INTERVIEWER_FALLBACK_MODEL",
                            "fallback_model")[0],
        timeout_s=numbers["timeout_s"],
        context_tokens=int(numbers["context_tokens"]),
        max_concurrency=int(numbers["max_concurrency"]),
        first_token_s=numbers["first_token_s"],
        reply_s=numbers["reply_s"],
    )


def is_local(url: str) -> bool:
    """Whether ``url`` names this machine (a local server: llama.cpp, Ollama, LM Studio)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")


def _number(name: str, env: dict[str, str], config: dict[str, Any], config_name: str,
            default: float) -> float:
    """A numeric setting from the environment, else the config file, else ``default``;
    errors name where the bad value came from."""
    var, kind, low, high = NUMBERS[name]
    if env.get(var, "").strip():
        raw: Any = env[var].strip()
        where = var
    elif name in config:
        raw, where = config[name], f"{config_name}: {name}"
    else:
        return default
    unit = "a number of seconds" if kind is float else "a whole number"
    try:
        value = float(raw) if kind is float else int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {raw!r} is not {unit}") from None
    if kind is float and not low < value <= high:
        raise ConfigError(f"{where}: must be between {low:g} and {high:g} seconds")
    if kind is int and not low <= value <= high:
        raise ConfigError(f"{where}: must be between {low:,g} and {high:,g}")
    return float(value)
