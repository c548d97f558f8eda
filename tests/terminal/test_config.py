"""The terminal config: a file (YAML or JSON) plus the environment, errors that name the field."""
from __future__ import annotations

import json

import pytest

from terminal.config import ConfigError, TerminalConfig, check_pin, hash_pin, load_config
from tests.terminal.helpers import PIN_HASH


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_YAML = f"""
scene: canteen
backend_url: http://127.0.0.1:8700
admin_pin_hash: "{PIN_HASH}"
language: en
devices:
  - {{type: voice, name: speaker, simulated: true}}
"""


def test_yaml_file_with_defaults(tmp_path):
    config = load_config(write(tmp_path, "t.yaml", GOOD_YAML), environ={})
    assert config.authorise_timeout_ms == 800 and config.authorise_timeout_s == 0.8
    assert config.language == "en" and config.liveness_required
    assert [d.name for d in config.devices] == ["speaker"]


def test_json_file_and_environment_override(tmp_path):
    data = {"scene": "parking", "backend_url": "https://pay.example.cn", "admin_pin_hash": PIN_HASH}
    path = write(tmp_path, "t.json", json.dumps(data))
    config = load_config(path, environ={"GATEPAY_TERMINAL_AUTHORISE_TIMEOUT_MS": "500",
                                        "GATEPAY_TERMINAL_BACKEND_URL": "http://10.0.0.2:8700"})
    assert config.scene == "parking" and config.authorise_timeout_ms == 500
    assert config.backend_url == "http://10.0.0.2:8700"


@pytest.mark.parametrize("extra, field", [
    ("authorise_timeout_ms: 9000", "authorise_timeout_ms"),
    ("authorise_timout_ms: 500", "authorise_timout_ms"),           # a typo is refused, not ignored
    ("language: fr", "language"),
    ("timezone: Mars/Base", "timezone"),
    ("scene: canteen", "admin_pin_hash"),                           # (replaced below: a missing field)
])
def test_invalid_config_names_the_field(tmp_path, extra, field):
    text = GOOD_YAML.replace("language: en", extra)
    if field == "admin_pin_hash":
        text = "\n".join(line for line in text.splitlines() if not line.startswith("admin_pin_hash"))
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", text), environ={})
    assert f"field '{field}" in str(err.value)


@pytest.mark.parametrize("text", ["scene: [unclosed", "- just\n- a list", "\x00\x01garbage: {"])
def test_garbage_files_give_a_clear_error(tmp_path, text):
    with pytest.raises(ConfigError, match="config"):
        load_config(write(tmp_path, "t.yaml", text), environ={})


def test_unknown_device_type_names_the_device(tmp_path):
    text = GOOD_YAML.replace("{type: voice,", "{type: teleporter,")
    with pytest.raises(ConfigError, match="field 'devices.0"):
        load_config(write(tmp_path, "t.yaml", text), environ={})


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_duplicate_device_names_are_refused(tmp_path):
    text = GOOD_YAML + "  - {type: voice, name: speaker, simulated: true}\n"
    with pytest.raises(ConfigError, match="speaker"):
        load_config(write(tmp_path, "t.yaml", text), environ={})


def test_pin_hash_round_trip():
    stored = hash_pin("1234", iterations=1000)
    assert check_pin("1234", stored) and not check_pin("4321", stored) and not check_pin("1234", "garbage")


def test_schema_has_titles_for_the_wizard():
    props = TerminalConfig.model_json_schema()["properties"]
    assert all("title" in p and "description" in p for p in props.values())


@pytest.mark.parametrize("typo, zh, en", [
    ("langauge: en", "未知字段，是否想写 'language'", "unknown field: did you mean 'language'?"),
    ("debounce: 30", "是否想写 'debounce_s'", "did you mean 'debounce_s'?"),
    ("scene: canten", "只能是 canteen, parking", "did you mean 'canteen'?"),
])
def test_a_typo_is_explained_in_both_languages_with_a_guess(tmp_path, typo, zh, en):
    text = GOOD_YAML.replace("language: en", typo).replace("scene: canteen\n", "" if "scene" in typo else "scene: canteen\n")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", text), environ={})
    assert zh in str(err.value) and en in str(err.value)
    assert "Extra inputs are not permitted" not in str(err.value)


def test_a_typo_inside_a_device_block_names_the_device_field_and_guesses(tmp_path):
    text = GOOD_YAML.replace("{type: voice, name: speaker, simulated: true}",
                             "{type: voice, name: speaker, simulatd: true}")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", text), environ={})
    assert "field 'devices.0.simulatd'" in str(err.value)       # as written in the file (no type tag)
    assert "did you mean 'simulated'?" in str(err.value) and "是否想写 'simulated'" in str(err.value)


def test_a_misspelt_device_type_gets_a_guess(tmp_path):
    text = GOOD_YAML.replace("{type: voice,", "{type: voise,")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", text), environ={})
    assert "没有这种设备类型 'voise'" in str(err.value) and "did you mean 'voice'?" in str(err.value)


def test_a_backend_url_without_a_scheme_says_to_add_one(tmp_path):
    text = GOOD_YAML.replace("http://127.0.0.1:8700", "127.0.0.1:8700")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", text), environ={})
    assert "应以 http:// 或 https:// 开头" in str(err.value) and "must start with http:// or https://" in str(err.value)
