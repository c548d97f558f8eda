"""The shipped deployment files (docs/deploy/) are ones systemd and the `gatepay` command accept:
every unit passes `systemd-analyze verify` (or, on a machine without it, parses as a unit file),
its ExecStart runs a real `gatepay` subcommand with real options, the nginx site proxies to the
port the backend unit listens on, and the settings the docs promise (a dedicated user, restart,
hardening, device groups) are in the files."""
from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
INSTALLED_GATEPAY = "/opt/gatepay/.venv/bin/gatepay"          # where docs/INSTALL.md puts it
GATEPAY = Path(sys.executable).with_name("gatepay")            # this checkout's
# Programs the units run that come from Debian packages the doc installs on the terminal box,
# not on a build machine: verify may report them missing here, nothing else.
BOX_PACKAGES = {"/usr/bin/cage": "cage", "/usr/bin/xinit": "xinit", "/bin/chvt": "kbd"}


def unit(path: Path) -> configparser.ConfigParser:
    """A unit file as sections of settings (a key systemd allows twice keeps its last value)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str        # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def gatepay_args(exec_start: str) -> list[str]:
    """The arguments ExecStart gives `gatepay` (up to xinit's `--`, which starts the server's)."""
    words = shlex.split(exec_start)
    start = words.index(INSTALLED_GATEPAY) + 1
    rest = words[start:]
    return rest[:rest.index("--")] if "--" in rest else rest


def test_the_files_the_docs_name_are_shipped() -> None:
    names = {p.name for p in DEPLOY.iterdir()}
    assert {"gatepay-backend.service", "gatepay-backend.env", "nginx-gatepay.conf", "gatepay-kiosk.service",
            "gatepay-kiosk-xorg.service", "gatepay-kiosk.pam", "kiosk.env"} <= names
    deploy_doc = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    install_doc = (ROOT / "docs" / "INSTALL.md").read_text(encoding="utf-8")
    for name in ("gatepay-backend.service", "nginx-gatepay.conf", "gatepay-backend.env"):
        assert f"docs/deploy/{name}" in deploy_doc
    for name in names:
        assert f"docs/deploy/{name}" in install_doc, name


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_systemd_accepts_the_unit(path: Path, tmp_path: Path) -> None:
    """`systemd-analyze verify` on the unit as installed, with this checkout's gatepay in place of
    /opt/gatepay's; without systemd-analyze, the file must at least parse with its three sections."""
    parsed = unit(path)
    assert {"Unit", "Service", "Install"} <= set(parsed.sections())
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    here = tmp_path / path.name
    here.write_text(path.read_text(encoding="utf-8").replace(INSTALLED_GATEPAY, str(GATEPAY)), encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(here)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    for line in problems:
        missing = re.search(r"Command (\S+) is not executable: No such file or directory", line)
        assert missing and missing.group(1) in BOX_PACKAGES and not Path(missing.group(1)).exists(), line


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_execstart_runs_a_real_gatepay_command(path: Path) -> None:
    """Every option the unit passes exists: `gatepay ARGS --help` parses them all first."""
    args = gatepay_args(unit(path)["Service"]["ExecStart"])
    result = subprocess.run([str(GATEPAY), *args, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Usage: gatepay" in result.stdout


def test_nginx_proxies_to_the_port_the_backend_listens_on() -> None:
    args = gatepay_args(unit(DEPLOY / "gatepay-backend.service")["Service"]["ExecStart"])
    host, port = args[args.index("--host") + 1], args[args.index("--port") + 1]
    site = (DEPLOY / "nginx-gatepay.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream gatepay_backend \{[^}]*server ([\d.]+):(\d+);", site)
    assert upstream and upstream.groups() == (host, port)
    assert host == "127.0.0.1"                        # only nginx reaches the backend
    assert re.search(r"client_max_body_size 4m;", site) and "ssl_certificate " in site
    for location in ("/api/", "/admin", "/pay/q/", "= /health"):
        assert re.search(rf"location {re.escape(location)} \{{\s*(client_max_body_size 4m;\s*)?proxy_pass "
                         rf"http://gatepay_backend;", site), location
    assert "X-Forwarded-For" in site and "X-Forwarded-Proto" in site
    env = (DEPLOY / "gatepay-backend.env").read_text(encoding="utf-8")
    assert f"FORWARDED_ALLOW_IPS={host}" in env        # uvicorn trusts nginx's forwarded headers


def test_the_backend_runs_as_its_own_user_hardened_and_restarted() -> None:
    service = unit(DEPLOY / "gatepay-backend.service")["Service"]
    assert service["User"] == "gatepay" and service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/gatepay/backend.env"
    assert "--workers" in service["ExecStart"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateDevices": "yes", "CapabilityBoundingSet": ""}.items():
        assert service[key] == value, key


@pytest.mark.parametrize("name", ["gatepay-kiosk.service", "gatepay-kiosk-xorg.service"])
def test_the_kiosk_starts_at_boot_full_screen_and_comes_back_after_a_crash(name: str) -> None:
    parsed = unit(DEPLOY / name)
    service = parsed["Service"]
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    assert service["Restart"] == "always" and parsed["Unit"]["StartLimitIntervalSec"] == "0"
    assert {"dialout", "video", "input"} <= set(service["SupplementaryGroups"].split())
    assert service["User"] != "root" and service["PAMName"] == "gatepay-kiosk"
    compositor = shlex.split(service["ExecStart"])[0]
    assert compositor in ("/usr/bin/cage", "/usr/bin/xinit")     # the kiosk is the only client: no window manager
    assert "pam_systemd.so" in (DEPLOY / "gatepay-kiosk.pam").read_text(encoding="utf-8")
