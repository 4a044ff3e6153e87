"""Settings precedence: flags > environment > config file > provider preset > defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.config import ConfigError, load_config_file, read_key_file, resolve


def test_no_endpoint_means_offline() -> None:
    assert resolve(env={}, config={}).offline


def test_flags_beat_environment_beat_config_file() -> None:
    config = {"base_url": "http://config/v1", "model": "config-model"}
    env = {"INTERVIEWER_BASE_URL": "http://env/v1", "INTERVIEWER_MODEL": "env-model",
           "INTERVIEWER_API_KEY": "k"}
    assert resolve(env={}, config=config).base_url == "http://config/v1"
    s = resolve(env=env, config=config)
    assert (s.base_url, s.model) == ("http://env/v1", "env-model")
    s = resolve(base_url="http://flag/v1", model="flag-model", env=env, config=config)
    assert (s.base_url, s.model) == ("http://flag/v1", "flag-model")


def test_offline_flag_wins_over_everything() -> None:
    env = {"INTERVIEWER_BASE_URL": "http://env/v1", "INTERVIEWER_MODEL": "m"}
    assert resolve(offline=True, base_url="http://flag/v1", env=env, config={}).offline


def test_provider_presets() -> None:
    s = resolve(provider="fireworks", env={"FIREWORKS_API_KEY": "fw"}, config={})
    assert s.base_url == "https://api.fireworks.ai/inference/v1" and s.api_key == "fw"
    s = resolve(provider="ollama", env={}, config={})
    assert s.base_url == "http://localhost:11434/v1" and s.model == "llama3.1"
    s = resolve(provider="openai", model="gpt-x", env={"OPENAI_API_KEY": "o"}, config={})
    assert s.model == "gpt-x" and s.api_key == "o"


def test_provider_without_its_key_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resolve(provider="openai", env={}, config={})


def test_bad_values_name_the_flag() -> None:
    with pytest.raises(ConfigError, match="--provider"):
        resolve(provider="nope", env={}, config={})
    with pytest.raises(ConfigError, match="--base-url"):
        resolve(base_url="ftp://x", env={}, config={})
    with pytest.raises(ConfigError, match="--model"):
        resolve(base_url="http://x/v1", env={}, config={})


def test_key_file_must_be_private(tmp_path: Path) -> None:
    f = tmp_path / "key"
    f.write_text("sk-secret\n")
    os.chmod(f, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_key_file(f)
    os.chmod(f, 0o600)
    assert read_key_file(f) == "sk-secret"
    s = resolve(base_url="http://x/v1", model="m", api_key_file=str(f), env={}, config={})
    assert s.api_key == "sk-secret" and "sk-secret" not in repr(s)


def test_config_file_rejects_keys_and_unknown_settings(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text('api_key = "sk-x"\n')
    with pytest.raises(ConfigError, match="api_key_file"):
        load_config_file(f)
    f.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_config_file(f)
    f.write_text("base_url = [\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config_file(f)
    f.write_text('base_url = "http://cfg/v1"\nmodel = "m"\n')
    assert resolve(env={}, config=load_config_file(f)).base_url == "http://cfg/v1"


def test_offline_reads_no_config_at_all(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("bogus = [\n")
    env = {"INTERVIEWER_BASE_URL": "http://env/v1", "INTERVIEWER_API_KEY": "bad key"}
    s = resolve(offline=True, base_url="not a url", env=env)
    assert s.offline and s.forced_offline
    assert s.describe() == "offline (forced by --offline)"
    with pytest.raises(ConfigError, match="invalid TOML"):
        resolve(env={})
    assert not resolve(env={}, config={}).forced_offline


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://x/v1", "is not an http"),
    ("localhost:11434/v1", "is not an http"),
    ("http:///v1", "has no host"),
    ("https://:8080/v1", "has no host"),
    ("http://h:99999/v1", "has an invalid port"),
    ("http://h:port/v1", "has an invalid port"),
    ("http://local host/v1", "is not a valid URL"),
    ("http://\udcff/v1", r"'http://\\xff/v1' is not a valid URL"),
    ("http://exa\u200bmple.com/v1", "is not a valid URL"),
    ("http://ex!ample.com/v1", "invalid host name"),
    ("http://[::1/v1", "is not a valid URL"),
])
def test_bad_base_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^--base-url: .*" + message):
        resolve(base_url=url, model="m", env={}, config={})


def test_good_base_urls_pass() -> None:
    for url in ("http://localhost:11434/v1", "https://api.example.com/v1/", "http://[::1]:8000",
                "http://127.0.0.1:9/v1", "https://bücher.example/v1", " http://x/v1\n"):
        s = resolve(base_url=url, model="m", env={}, config={})
        assert s.base_url == url.strip().rstrip("/")


def test_base_url_errors_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^INTERVIEWER_BASE_URL: 'x' is not an http"):
        resolve(env={"INTERVIEWER_BASE_URL": "x"}, config={})
    f = tmp_path / "config.toml"
    f.write_text('base_url = "http://"\nmodel = "m"\n')
    with pytest.raises(ConfigError, match=r"config\.toml: base_url: 'http://' has no host"):
        resolve(env={}, config=load_config_file(f))


@pytest.mark.parametrize(("line", "message"), [
    ("timeout_s = [1]", "'timeout_s' must be a number of seconds, not an array"),
    ("timeout_s = true", "'timeout_s' must be a number of seconds, not a boolean"),
    ('timeout_s = "30"', "'timeout_s' must be a number of seconds, not a string"),
    ('model = ["a"]', "'model' must be a string, not an array"),
    ("base_url = 1", "'base_url' must be a string, not an integer"),
    ("provider = {name = 'openai'}", "'provider' must be a string, not a table"),
    ("fallback_model = 1.5", "'fallback_model' must be a string, not a number"),
    ("api_key_file = false", "'api_key_file' must be a string, not a boolean"),
])
def test_config_file_fields_are_type_checked(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "config.toml"
    f.write_text(line + "\n")
    with pytest.raises(ConfigError, match=f"^{f}: setting {message}$"):
        load_config_file(f)


def test_config_file_timeout_errors_name_the_file(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("timeout_s = 0\n")
    with pytest.raises(ConfigError, match=r"config\.toml: timeout_s: must be between 0 and 600"):
        resolve(base_url="http://x/v1", model="m", env={})
    (home / "config.toml").write_text("timeout_s = 30\n")
    assert resolve(base_url="http://x/v1", model="m", env={}).timeout_s == 30.0


def _key(tmp_path: Path, content: bytes) -> Path:
    f = tmp_path / "key"
    f.write_bytes(content)
    f.chmod(0o600)
    return f


def test_key_files_that_are_not_keys_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"^api key file {tmp_path}: is a directory"):
        read_key_file(tmp_path)
    f = _key(tmp_path, b"sk-\xff\xfe")
    with pytest.raises(ConfigError, match=f"^api key file {f}: is not UTF-8 text"):
        read_key_file(f)
    f = _key(tmp_path, b"x" * 100_000)
    with pytest.raises(ConfigError, match="too big to be a key file"):
        read_key_file(f)
    f = _key(tmp_path, b" \r\n\t\n")
    with pytest.raises(ConfigError, match="is empty"):
        read_key_file(f)


def test_keys_lose_surrounding_whitespace_and_a_bom(tmp_path: Path) -> None:
    assert read_key_file(_key(tmp_path, b"\n  sk-good-key\r\n\n")) == "sk-good-key"
    assert read_key_file(_key(tmp_path, b"\xef\xbb\xbfsk-good-key\n")) == "sk-good-key"
    env = {"INTERVIEWER_API_KEY": " sk-env-key\n"}
    assert resolve(base_url="http://x/v1", model="m", env=env, config={}).api_key == "sk-env-key"


@pytest.mark.parametrize(("key", "what"), [
    ("sk-abcdefgh1234\u200b", "a non-ASCII or invisible character"),
    ("sk-abc\u00a0defgh1234", "a space"),
    ("sk-abc defgh1234", "a space"),
    ("sk-abc\tdefgh1234", "a space"),
    ("sk-abcdéfgh1234", "a non-ASCII or invisible character"),
    ("sk-abc\x00defgh1234", "a control character"),
    ("sk-abc\x1b[2Jdefgh1234", "a control character"),
])
def test_keys_with_characters_no_key_has_are_refused_unechoed(tmp_path: Path, key: str,
                                                             what: str) -> None:
    secret = "defgh1234"
    f = _key(tmp_path, key.encode())
    with pytest.raises(ConfigError, match=f"contains {what}") as err:
        read_key_file(f)
    assert secret not in str(err.value) and str(f) in str(err.value)
    for name, env in (("INTERVIEWER_API_KEY", {"INTERVIEWER_API_KEY": key}),
                      ("OPENAI_API_KEY", {"OPENAI_API_KEY": key})):
        with pytest.raises(ConfigError, match=f"from {name} contains {what}") as err:
            resolve(provider="openai" if name == "OPENAI_API_KEY" else None,
                    base_url=None if name == "OPENAI_API_KEY" else "http://x/v1", model="m",
                    env=env, config={})
        assert secret not in str(err.value)


def test_an_empty_interviewer_home_is_the_platform_default(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from agent.paths import db_files, home

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for value in ("", "   "):
        monkeypatch.setenv("INTERVIEWER_HOME", value)
        assert home() == tmp_path / "xdg" / "interviewer"
    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path / "h"))
    assert [p.name for p in db_files()] == ["interviewer.db", "interviewer.db-wal",
                                            "interviewer.db-shm", "interviewer.db-journal"]


def test_quoted_shows_undecodable_arguments_readably() -> None:
    from agent.config import quoted

    assert quoted("\udcff\udcfe") == "'\\xff\\xfe'"
    assert quoted("a\x1b[2Jb") == "'a\\x1b[2Jb'"
    assert quoted("x" * 100, 10) == "'" + "x" * 10 + "…'"
    assert quoted("\ud800") == "'\\ud800'"


def test_local_presets_and_loopback_urls_default_to_one_background_call() -> None:
    s = resolve(provider="llamacpp", env={}, config={})
    assert (s.base_url, s.max_concurrency, s.context_tokens) == (
        "http://localhost:8080/v1", 1, 8_192)
    assert resolve(provider="ollama", env={}, config={}).max_concurrency == 1
    assert resolve(provider="openai", env={"OPENAI_API_KEY": "o"}, config={}
                   ).max_concurrency == 4
    assert resolve(base_url="http://127.0.0.1:9/v1", model="m", env={}, config={}
                   ).max_concurrency == 1
    remote = resolve(base_url="https://api.example.com/v1", model="m", env={}, config={})
    assert (remote.max_concurrency, remote.context_tokens) == (4, 16_384)
    with pytest.raises(ConfigError, match="--provider vllm serves the model it was started "
                                          "with, so name it; pass --model"):
        resolve(provider="vllm", env={}, config={})


def test_budgets_come_from_the_environment_then_the_config_file() -> None:
    env = {"INTERVIEWER_CONTEXT_TOKENS": "4096", "INTERVIEWER_FIRST_TOKEN_S": "5"}
    config = {"context_tokens": 32_000, "max_concurrency": 2, "reply_s": 30}
    s = resolve(base_url="http://x/v1", model="m", env=env, config=config)
    assert (s.context_tokens, s.max_concurrency, s.first_token_s, s.reply_s) == (
        4096, 2, 5.0, 30.0)


@pytest.mark.parametrize(("env", "config", "message"), [
    ({"INTERVIEWER_MAX_CONCURRENCY": "two"}, {}, "^INTERVIEWER_MAX_CONCURRENCY: 'two' is not "
     "a whole number$"),
    ({"INTERVIEWER_MAX_CONCURRENCY": "0"}, {}, "INTERVIEWER_MAX_CONCURRENCY: must be between "
     "1 and 64"),
    ({}, {"context_tokens": 100}, r"config\.toml: context_tokens: must be between 1,024"),
    ({"INTERVIEWER_REPLY_S": "700"}, {}, "INTERVIEWER_REPLY_S: must be between 0 and 600 "
     "seconds"),
    ({"INTERVIEWER_FIRST_TOKEN_S": "50", "INTERVIEWER_REPLY_S": "10"}, {},
     r"first_token_s \(50 s\) is longer than reply_s \(10 s\)"),
])
def test_bad_budgets_name_their_source(env: dict[str, str], config: dict[str, object],
                                       message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(base_url="http://x/v1", model="m", env=env, config=config)


def test_config_file_types_for_the_budgets(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text("max_concurrency = 1.5\n")
    with pytest.raises(ConfigError, match="'max_concurrency' must be an integer, not a number"):
        load_config_file(f)
    f.write_text("context_tokens = 8192\nmax_concurrency = 1\nfirst_token_s = 10\n"
                 "reply_s = 20.5\n")
    s = resolve(base_url="http://x/v1", model="m", env={}, config=load_config_file(f))
    assert (s.context_tokens, s.max_concurrency, s.first_token_s, s.reply_s) == (
        8192, 1, 10.0, 20.5)


def test_the_command_line_offers_every_preset() -> None:
    from agent.cli import PROVIDERS
    from agent.config import PRESETS

    assert tuple(PRESETS) == PROVIDERS
