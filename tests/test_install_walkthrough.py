"""docs/INSTALL.md, run: from an empty backend to a paying canteen gate and a parking exit lane,
with only what the doc uses — `gatepay backend create-operator`, the console in headless
Chromium, the installer wizard's services (what its buttons call: register, find devices, save
the config), `gatepay doctor`, and the terminals' own commands — against the real backend
process with no channel or bank core simulated. The card is swiped on the real serial card
reader driver over a pseudo-terminal, the car's plate is pushed by `gatepay plate push` acting as
the camera. If a step of the doc stops working, this test fails."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tty
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from terminal.demo.backend_process import BackendProcess, free_port
from tests.web.browser import submit as send_form
from tests.web.test_admin_e2e import CHROMIUM, FLAGS, pytestmark, shot  # noqa: F401 - the same skip

GATEPAY = [sys.executable, "-m", "terminal.cli"]
CARD = "6222021001123456"
PLATE = "京A12345"
PIN = "2468"


def gatepay(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEPAY, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def backend(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    """Step 1 of the doc: an empty backend, its first operator's token from the command line."""
    with BackendProcess(sqlite_url, tmp_path, simulators={}) as process:
        made = gatepay("backend", "create-operator", "--name", "张工", "--role", "operator", env=process.env())
        assert made.returncode == 0, made.stderr
        yield process.url, made.stdout.strip().splitlines()[-1]


@pytest.fixture
def console(backend):  # noqa: ANN001, ANN201
    from playwright.sync_api import sync_playwright

    url, token = backend
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
        page.goto(f"{url}/admin/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/admin/settlement")
        yield page
        browser.close()


def submit(page, form: str, **values: str) -> str:  # noqa: ANN001
    """Send a console form as a new user would (tests/web/browser.py); returns the notice it answers with."""
    send_form(page, form, **values)
    return page.inner_text(".notice")


def new_merchant(page, url: str, name: str, kind: str, site: str) -> None:  # noqa: ANN001
    """Console steps 2.1-2.3: apply, approve, add a site, open the site's page."""
    page.goto(f"{url}/admin/merchants")
    assert name in submit(page, "apply", name=name, kind=kind, account_no="6222000011112222", bank_name="农商银行")
    page.click(f"text={name}")
    page.click("text=审核通过")
    assert "已通过" in page.inner_text("#facts")
    assert site in submit(page, "new-site", name=site)
    page.click(f"#sites a:text('{site}')")


def enrolment_code(page, url: str, lane: str, terminal: str) -> str:  # noqa: ANN001
    """Console step: Terminals → New enrolment code, bound to the lane (the site follows from it)."""
    page.goto(f"{url}/admin/terminals")
    form = page.locator("form#new-code")
    option = form.locator(f"[name=lane_id] option:text-matches('{lane}')")
    site_name = option.inner_text().split(" · ")[0]
    form.locator("[name=site_id]").select_option(label=site_name)
    notice = submit(page, "new-code", lane_id=option.get_attribute("value"), name=terminal)
    return re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", notice).group(0)


def meal_window(now: datetime) -> tuple[str, str]:
    """A meal period open now (an hour ago until two hours on; past midnight when it wraps)."""
    return (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")


def wizard(config: Path, data_dir: Path, url: str, code: str, scene: str, pick=None) -> Path:  # noqa: ANN001
    """What the installer does in `gatepay terminal setup`: the backend address and the code,
    the devices it finds (here: the simulators it offers, or what `pick` changes), a PIN, save."""
    from terminal.installer.services import standalone

    with standalone(config, data_dir) as (make, _language):
        services = make()
        registration = services.register(url, code)
        found = [{"name": f.kind, **f.config} for f in services.discover(scene, "exit" if scene == "parking" else None)
                 if f.checked]
        answers = {"scene": scene, "backend_url": url, "devices": pick(found) if pick else found,
                   "admin_pin": PIN, "admin_pin_again": PIN, "registration": registration}
        if scene == "parking":
            answers.update(lane_direction="exit", barrier_via="gate")
        assert services.validate(answers) == {}
        return Path(services.save(answers))


def patient(config: Path, change=None) -> dict:  # noqa: ANN001
    """The saved config with a 5 s online wait instead of 0.8 s (the CI machine is shared: a
    slow answer would make the payment an offline one) and `change` applied to its devices."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["authorise_timeout_ms"] = 5000
    for device in data["devices"]:
        if change:
            change(device)
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data


def doctor(config: Path) -> str:
    result = gatepay("doctor", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "已注册" in result.stdout and "[正常 OK ] backend" in result.stdout
    return result.stdout


class Terminal:
    """`gatepay terminal --headless --config FILE`, its output in files the test reads."""

    def __init__(self, config: Path, folder: Path):
        self.out, self.err = folder / f"{config.stem}.out", folder / f"{config.stem}.err"
        self.proc = subprocess.Popen([*GATEPAY, "terminal", "--headless", "--config", str(config)],
                                     stdout=self.out.open("w"), stderr=self.err.open("w"))

    def wait_for(self, pattern: str, which: str = "err", timeout: float = 40) -> re.Match:
        path = self.err if which == "err" else self.out
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, path.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found
            assert self.proc.poll() is None, self.err.read_text()
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not seen in {timeout:.0f} s:\n{self.err.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def test_from_an_empty_backend_to_a_paid_meal_and_a_paid_exit(backend, console, tmp_path: Path) -> None:  # noqa: ANN001
    url, _token = backend
    page = console

    # 2. The canteen: merchant, site, meal period, gate lane; the diner: wallet, card, plate.
    page.goto(f"{url}/admin/terminals")
    assert "登记商户" in page.inner_text("#first-steps")
    new_merchant(page, url, "第一食堂", "canteen", "一号餐厅")
    start, end = meal_window(datetime.now(ZoneInfo("Asia/Shanghai")))
    assert "已保存" in submit(page, "meal", code="lunch", name_zh="午餐", name_en="Lunch", start=start, end=end,
                              price_fen="12.50", max_meals="1")
    assert "已保存" in submit(page, "limits", per_payment_fen="30", per_customer_day_fen="100",
                              terminal_total_fen="2000", max_cache_age_min="1440")
    assert "东门闸机" in submit(page, "new-lane", name="东门闸机", direction="both")
    canteen_code = enrolment_code(page, url, "东门闸机", "东门一号机")

    page.goto(f"{url}/admin/customers")
    assert "已建立客户" in submit(page, "form[action='/admin/customers']", name="张小三", phone="13912345678")
    page.click("main a[href^='/admin/customers/']")
    customer = page.url.split(url)[1]
    assert "200.00" in submit(page, f"form[action='{customer}/deposit']", amount="200")
    assert "签约成功" in submit(page, f"form[action='{customer}/signings/card']", card_number="6222 0210 0112 3456",
                                per_payment="30", per_day="100")
    assert "签约成功" in submit(page, f"form[action='{customer}/signings/plate']", plate=PLATE, per_payment="50",
                                per_day="100")

    # 3. The car park: merchant, site, exit lane, tariff.
    new_merchant(page, url, "城东停车场", "parking", "地面停车场")
    assert "北出口" in submit(page, "new-lane", name="北出口", direction="exit")
    page.click("text=收费标准、会员、黑名单")
    assert "已保存" in submit(page, "tariff", free_minutes="15", first_period_fen="5", unit_fen="2",
                              daily_cap_fen="40", no_entry_fee_fen="20")
    lane_code = enrolment_code(page, url, "北出口", "北出口一号机")

    # 4. The canteen terminal: the wizard registers it on simulators, the doctor says so; then the
    # card reader is a real one (the serial driver on a pseudo-terminal) and a card is swiped.
    canteen = wizard(tmp_path / "canteen.yaml", tmp_path / "canteen-data", url, canteen_code, "canteen")
    report = doctor(canteen)
    assert "[模拟 SIM ] card_reader" in report and "不可投入使用" in report
    reader, swipe = os.openpty()
    tty.setraw(reader)
    tty.setraw(swipe)
    patient(canteen, lambda device: device["type"] == "serial_card_reader" and device.update(
        simulated=False, port=os.ttyname(swipe)))
    assert "[正常 OK ] card_reader" in doctor(canteen)
    gate = Terminal(canteen, tmp_path)
    try:
        gate.wait_for(r"sync/pull\?cursor=\d+")                # it has the meal period and the card
        time.sleep(1)
        os.write(reader, f"{CARD}\r\n".encode())
        paid = gate.wait_for(r"APPROVED (\S+) (\d+) offline=0", which="out")
        assert paid.group(2) == "1250"
    finally:
        gate.stop()
        os.close(reader)
        os.close(swipe)

    # 5. The exit lane: the wizard keeps its lane binding; a signed car leaves, paying from the wallet.
    push_port = free_port()

    def plate_camera(found: list[dict]) -> list[dict]:
        for device in found:
            if device["type"] == "plate_push":
                device.update(host="127.0.0.1", port=push_port, cameras=[
                    {"name": "exit-1", "direction": "out", "serialno": "CAM-NORTH-1", "address": "127.0.0.1"}])
        return found

    lane = wizard(tmp_path / "lane.yaml", tmp_path / "lane-data", url, lane_code, "parking", plate_camera)
    lane_config = patient(lane)
    assert lane_config["parking"]["lane_id"] is not None
    assert f"车牌推送端口 {push_port} 就绪" in doctor(lane)
    secret = next(d["secret"] for d in lane_config["devices"] if d["type"] == "plate_push")
    exit_lane = Terminal(lane, tmp_path)
    try:
        exit_lane.wait_for(r"sync/pull\?cursor=\d+")
        time.sleep(1)
        pushed = gatepay("plate", "push", f"http://127.0.0.1:{push_port}/plates/push?key={secret}", "CAM-NORTH-1", PLATE)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        assert "已缴费 20.00 元" in json.loads(pushed.stdout)["voice"][0]
    finally:
        exit_lane.stop()

    # 6. Both payments on the console's Payments page.
    page.goto(f"{url}/admin/payments")
    rows = page.inner_text("main")
    assert "东门一号机" in rows and "12.50" in rows and "北出口一号机" in rows and "20.00" in rows
    shot(page, "install-first-payments")
