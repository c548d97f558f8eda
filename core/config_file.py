"""Reading a config file (YAML, or JSON by its suffix) into a mapping of fields: the one reader the
terminal's config, the doctor and the safe-mode screen share, with its errors in zh/en words."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """The file cannot be read, does not parse, or does not hold a mapping."""


def read_mapping(path: Path) -> dict[str, Any]:
    """The file's fields ({} for an empty file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"配置文件无法读取 / cannot read config file {path}: {exc.strerror}") from None
    is_json = path.suffix.lower() == ".json"
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"配置文件格式错误 / config file {path} is not valid "
                              f"{'JSON' if is_json else 'YAML'}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"配置文件应为键值结构 / config file {path} must hold a mapping of fields")
    return data
