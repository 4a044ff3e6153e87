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
