"""`gatepay terminal register` against the real backend on loopback: every mistake an installer
makes gets one plain zh/en sentence and exit 1 or 2, never a traceback or a raw error dict."""
from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from terminal.cli import app


def _config_file(canteen, tmp_path: Path, **changes) -> Path:  # noqa: ANN001
    data = {**canteen.core_config(tmp_path / "data").model_dump(mode="json"), **changes}
    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _register(path: Path, code: str):  # noqa: ANN202
    return CliRunner().invoke(app, ["terminal", "register", "--config", str(path), "--code", code])


def _plain(result) -> str:  # noqa: ANN001
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "{" not in result.output, result.output
    return result.output


def test_a_wrong_code_says_what_the_backend_said_in_both_languages(canteen, tmp_path) -> None:  # noqa: ANN001
    result = _register(_config_file(canteen, tmp_path), "WRONG-CODE-1")
    assert result.exit_code == 1
    out = _plain(result)
    assert "注册码不存在，请核对后重新输入" in out and "enrolment code" in out.lower()
    assert "message_zh" not in out and "enrolment_code_unknown" not in out


def test_a_backend_url_without_a_scheme_is_explained(canteen, tmp_path) -> None:  # noqa: ANN001
    url = canteen.url.removeprefix("http://")
    result = _register(_config_file(canteen, tmp_path, backend_url=url), canteen.code())
    assert result.exit_code == 2
    out = _plain(result)
    assert "backend_url" in out and "http://" in out and "https://" in out
    assert "应以" in out and "must start with" in out
    assert "should match pattern" not in out     # not pydantic's regex


def test_a_wrong_path_on_the_backend_says_it_is_not_a_gatepay_backend(canteen, tmp_path) -> None:  # noqa: ANN001
    result = _register(_config_file(canteen, tmp_path, backend_url=canteen.url + "/wrong/prefix"), canteen.code())
    assert result.exit_code == 1
    out = _plain(result)
    assert "不是 gatepay 后台" in out and "not a gatepay backend" in out


def test_a_missing_config_file_is_named(tmp_path) -> None:  # noqa: ANN001
    result = _register(tmp_path / "nowhere.yaml", "ANY-CODE")
    assert result.exit_code == 2
    out = _plain(result)
    assert "nowhere.yaml" in out and "配置文件无法读取" in out
