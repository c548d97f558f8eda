"""Page texts in two languages and the 中文/English toggle of the admin console.

Every text a page shows is a `Bi(zh, en)`. Chinese comes first by default: a Bi renders as
"中文 <span class=en>English</span>". The toggle (GET /admin/lang?to=en&next=/admin/...) keeps the
choice in a cookie (`gp_lang`); in English a Bi renders as its English half only. Plain strings
(older pages write "商户 Merchants") render as they are in both languages.

In templates: `{{ value|say }}` for any Bi or string; `lang` is in every page's context.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from jinja2 import pass_context
from markupsafe import Markup, escape

from backend.web.session import set_cookie

LANG_COOKIE = "gp_lang"
LANGS = ("zh", "en")
router = APIRouter(prefix="/admin", include_in_schema=False)


@dataclass(frozen=True)
class Bi:
    """One text in Chinese and English."""
    zh: str
    en: str

    def __str__(self) -> str:           # logs, plain-text contexts: both halves
        return f"{self.zh} {self.en}"

    def __add__(self, other: "Bi") -> "Bi":
        return Bi(self.zh + other.zh, f"{self.en} {other.en}".strip())


def lang_of(request: Request) -> str:
    value = request.cookies.get(LANG_COOKIE)
    return value if value in LANGS else "zh"


def say_in(lang: str, value: object) -> Markup:
    """HTML for `value` in `lang`: a Bi as its halves, anything else escaped as it is."""
    if value is None:
        return Markup("")
    if isinstance(value, Bi):
        if lang == "en":
            return escape(value.en)
        return Markup('{} <span class="en">{}</span>').format(value.zh, value.en) if value.en else escape(value.zh)
    return escape(value)


@pass_context
def say(context, value: object) -> Markup:  # noqa: ANN001
    """The Jinja filter: `{{ text|say }}` in the page's language."""
    return say_in(context.get("lang", "zh"), value)


def plain(lang: str, value: object) -> str:
    """Text for an attribute or a header (no HTML): the language's half, both halves in zh."""
    if isinstance(value, Bi):
        return value.en if lang == "en" else f"{value.zh} {value.en}".strip()
    return "" if value is None else str(value)


def _safe_next(target: str) -> str:
    # Only back into the console: never an open redirect to another host.
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target and len(target) < 500:
        return target
    return "/admin"


@router.get("/lang")
def switch_language(request: Request, to: str = "zh", next: str = "/admin") -> RedirectResponse:  # noqa: A002
    """Keep the chosen language (a year) and go back to the page it was chosen on."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, request, LANG_COOKIE, to if to in LANGS else "zh", max_age=365 * 86400)
    return response
