"""Headless Chromium (Debian's package) for the console's end-to-end tests: one launch, one
login and one way to fill a form, shared by every tests/web/*_e2e.py module."""
from __future__ import annotations

from collections.abc import Iterator

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def launched() -> Iterator:
    """Chromium for the length of a fixture (`yield from launched()`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def login(browser, url: str, token: str, height: int = 800):  # noqa: ANN001, ANN201
    """A new zh-CN tab logged in to the console with an operator token, on the settlement page."""
    context = browser.new_context(viewport={"width": 1280, "height": height}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{url}/admin/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/admin/settlement")
    return page


def submit(page, form: str, **values: str) -> None:  # noqa: ANN001
    """Fill a console form (by id, or by CSS starting with "form[") and send it."""
    form = page.locator(form if form.startswith("form[") else f"form#{form}")
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
