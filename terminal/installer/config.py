"""The end of the installer wizard: turn what was entered into the terminal's one config model
(terminal.config.TerminalConfig), check it field by field, save it atomically; and the config a
re-run starts from.

The wizard's plain data: {"scene", "backend_url", "language", "devices": [...], "gate",
"barrier_via" (parking), "lane_direction" (parking), "admin_pin", "admin_pin_again",
"registration"}. Everything else in an existing config (data directory, meal periods, time zone,
the parking block's tariffs and timeouts, ...) is kept as it was.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, SecretStr, ValidationError

from terminal.installer.checks import pydantic_errors
from terminal.installer.results import Errors, FieldError

PIN_DIGITS = (4, 12)
# TerminalConfig field -> the wizard field its error is shown at
FIELD_OF = {"backend_url": "url", "admin_pin_hash": "pin"}
# ... and the wizard's own words for it, where the model's words speak of the config file
WIZARD_WORDS = {"gate": FieldError("err.gate_choose")}


def split_devices(devices: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(devices the terminal config can hold: a driver spec has their type, the others)."""
    from hardware.registry import specs

    known = {spec.type for spec in specs()}
    return ([d for d in devices if d.get("type") in known], [d for d in devices if d.get("type") not in known])


def check_pin_fields(pin: str, again: str, required: bool) -> Errors:
    if not pin and not again and not required:
        return {}
    if not (pin.isdigit() and PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]):
        return {"pin": FieldError("err.pin_format", {"min": PIN_DIGITS[0], "max": PIN_DIGITS[1]})}
    if pin != again:
        return {"pin_again": FieldError("err.pin_mismatch")}
    return {}


def terminal_config(wizard: dict[str, Any], base: dict[str, Any]) -> tuple[BaseModel | None, Errors]:
    """The TerminalConfig the wizard made (on top of `base`, the config it started from)."""
    from terminal.config import TerminalConfig, hash_pin

    if wizard.get("scene") not in ("canteen", "parking"):
        return None, {"scene": FieldError("err.scene_required")}
    if not wizard.get("registration") and not base.get("admin_pin_hash"):
        return None, {"registration": FieldError("err.not_registered")}
    errors = check_pin_fields(wizard.get("admin_pin", ""), wizard.get("admin_pin_again", ""),
                              required=not base.get("admin_pin_hash"))
    if errors:
        return None, errors
    known, _unsupported = split_devices(wizard.get("devices", []))
    data = {key: value for key, value in base.items() if key in TerminalConfig.model_fields}
    # the devices are the wizard's now, so is the choice among their gates (None: the only one)
    data.update(scene=wizard["scene"], backend_url=wizard.get("backend_url", ""),
                language=wizard.get("language", "zh_CN"), devices=known, gate=wizard.get("gate"))
    if wizard.get("admin_pin"):
        data["admin_pin_hash"] = hash_pin(wizard["admin_pin"])
    if wizard["scene"] == "parking":
        data["parking"] = parking_block(wizard, base)
        errors = check_barrier(wizard.get("barrier_via"), known)
        if errors:
            return None, errors
    else:
        data.pop("parking", None)
    try:
        return TerminalConfig.model_validate(data), {}
    except ValidationError as exc:
        return None, {FIELD_OF.get(name, name): WIZARD_WORDS.get(name, error)
                      for name, error in pydantic_errors(exc).items()}


def check_barrier(barrier_via: str | None, devices: list[dict[str, Any]]) -> Errors:
    """A parking lane's barrier must have something to lift it: the gate relay it names, or a
    plate camera whose answer drives its own barrier output."""
    from terminal.installer.devices import kind_of_type

    kinds = {kind_of_type(str(d.get("type", ""))) for d in devices}
    if barrier_via == "gate" and "gate" not in kinds:
        return {"barrier_via": FieldError("err.barrier_no_gate")}
    if barrier_via == "camera" and "plate_camera" not in kinds:
        return {"barrier_via": FieldError("err.barrier_no_camera")}
    return {}


def parking_block(wizard: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The lane's direction as the installer chose it and its id as the backend registered it
    (or as the config already had it); the rest of an existing parking block is kept."""
    block = dict(base.get("parking") or {})
    block["direction"] = wizard.get("lane_direction") or block.get("direction")
    if wizard.get("barrier_via"):
        block["barrier_via"] = wizard["barrier_via"]
    registration = wizard.get("registration")
    if getattr(registration, "lane_id", None) is not None:
        block["lane_id"] = registration.lane_id
        block["lane_name"] = registration.lane_name or block.get("lane_name")
        if block.get("direction") is None and registration.lane_direction in ("entry", "exit"):
            block["direction"] = registration.lane_direction
    return block


def validator(base: dict[str, Any]) -> Callable[[dict[str, Any]], Errors]:
    return lambda wizard: terminal_config(wizard, base)[1]


def saver(path: Path, base: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    """Save the config the wizard made (write_config_file: atomic, 0600)."""
    def save(wizard: dict[str, Any]) -> str:
        config, errors = terminal_config(wizard, base)
        if config is None:
            raise ValueError("; ".join(f"{k}: {e.en or e.key}" for k, e in errors.items()))
        write_config_file(path, plain_data(config))   # the plate cameras' secret as typed, not "**********"
        return str(path)
    return save


def write_config_file(path: Path, data: dict[str, Any]) -> None:
    """Write a config (YAML or JSON by the file's suffix) atomically: write, fsync, rename."""
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    # 0600: the config holds the admin PIN hash and plate cameras' shared secret.
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def bind_lane(path: Path, registration: Any) -> dict[str, Any] | None:
    """After `gatepay terminal register`: write the lane the enrolment code was bound to into the
    config's parking block (lane_id, its name, and its direction when the backend's lane has one
    and the block has none). Returns the block written, or None when there is no lane to bind
    (a canteen, or a code not bound to a lane). Raises ValueError (zh / en) when the block still
    lacks a direction: a lane "both" ways needs the installer's choice."""
    from core.config_file import read_mapping
    from terminal.config import validate_config

    if getattr(registration, "lane_id", None) is None:
        return None
    data = read_mapping(path)
    if data.get("scene", registration.scene) != "parking":
        return None
    block = parking_block({"registration": registration}, data)
    if block.get("direction") is None:
        raise ValueError("通道方向未定：请在配置的 parking 下填写 direction: entry 或 exit / the lane's direction is "
                         "not known: set parking.direction to entry or exit in the config")
    data["parking"] = block
    validate_config(data)              # never write a config the terminal would refuse
    write_config_file(path, data)
    return block


def existing_config(path: Path) -> dict[str, Any]:
    """The config to start from: the file's, when it is valid; otherwise nothing."""
    from terminal.config import ConfigError, load_config

    if not path.exists():
        return {}
    try:
        return plain_data(load_config(path, environ={}))   # secrets as they are, to be saved again
    except ConfigError:
        return {}


def plain_data(config: BaseModel) -> dict[str, Any]:
    """A config as the plain data a file holds, secrets in clear: pydantic's JSON dump writes a
    SecretStr as "**********", which saved would lock out the cameras that know the real one."""
    data = config.model_dump(mode="json")
    _reveal(config, data)
    return data


def _reveal(value: Any, data: Any) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            inner = getattr(value, name)
            if isinstance(inner, SecretStr):
                data[name] = inner.get_secret_value()
            else:
                _reveal(inner, data.get(name))
    elif isinstance(value, (list, tuple)) and isinstance(data, list):
        for inner, dumped in zip(value, data):
            _reveal(inner, dumped)
