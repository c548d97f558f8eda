"""Rendering and guarding admin pages: templates, the navigation, login redirects, 403 pages."""
from __future__ import annotations

import functools
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.auth import OperatorPrincipal
from backend.errors import ApiError
from backend.web.session import CSRF_COOKIE, NotAllowed, PageUser, csrf_token, new_csrf, set_cookie
from backend.web.texts import Bi, lang_of, plain, say

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["say"] = say

NAV = [("/admin/merchants", "商户", "Merchants"), ("/admin/terminals", "终端", "Terminals"),
       ("/admin/customers", "客户与签约", "Customers"), ("/admin/signing-desk", "刷脸签约", "Signing desk"),
       ("/admin/subsidies", "补贴", "Subsidies"), ("/admin/campaigns", "营销活动", "Campaigns"),
       ("/admin/payments", "支付", "Payments"),
       ("/admin/settlement", "结算", "Settlement"), ("/admin/reconciliation", "对账", "Reconciliation"),
       ("/admin/reports", "报表", "Reports"), ("/admin/analytics", "数据分析", "Analytics")]
ANY_ROLE = ("operator", "merchant_admin", "auditor")
BANK_READERS = ("operator", "auditor")


def render(request: Request, who: OperatorPrincipal | None, template: str, status: int = 200, **ctx) -> HTMLResponse:  # noqa: ANN003
    """A page. `notice` (a Bi or text) is shown above the page in green, or in red when
    `notice_kind` is "error" - the default for any status of 400 and up. `title` (a Bi) may
    stand for title_zh/title_en."""
    ctx.setdefault("forms", [])
    ctx.setdefault("sections", [])
    ctx.setdefault("notice_kind", "error" if status >= 400 else "ok")
    if isinstance(ctx.get("title"), Bi):
        ctx["title_zh"], ctx["title_en"] = ctx["title"].zh, ctx["title"].en
    lang = lang_of(request)
    token = csrf_token(request) or new_csrf()
    # where the language toggle comes back to: this page, or after a form post its section's list
    here = (request.url.path + (f"?{request.url.query}" if request.url.query else "") if request.method == "GET"
            else ctx.get("back") or ctx.get("active") or "/admin")
    response = templates.TemplateResponse(request, template, {
        "who": who, "nav": NAV, "csrf": token, "lang": lang, "here": here,
        "plain": lambda value: plain(lang, value), **ctx}, status_code=status)
    if token != csrf_token(request):
        set_cookie(response, request, CSRF_COOKIE, token)
    response.headers["Cache-Control"] = "no-store"
    return response


def page(fn):  # noqa: ANN001, ANN201
    """Guard a page on its `user` (backend.web.session.admin_roles): nobody logged in -> the login
    page (401), a role that may not -> a 403 page, a refused form or an API error -> a page
    saying so in words."""
    @functools.wraps(fn)
    def guarded(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        request: Request = kwargs["request"]
        user: PageUser = kwargs["user"]
        if user.who is None:
            return render(request, None, "login.html", status=401, title_zh="登录", title_en="Log in",
                          notice=Bi("请先用操作员令牌登录。", "Log in with your operator token first."))
        try:
            if not user.allowed:
                raise NotAllowed
            return fn(*args, **kwargs)
        except NotAllowed:
            return render(request, user.who, "page.html", status=403, title_zh="无权访问", title_en="Not allowed",
                          notice=Bi("您的角色无权查看此页或执行此操作。", "Your role may not see this page or do this."))
        except ApiError as exc:
            d = exc.detail
            return render(request, user.who, "page.html", status=exc.status_code, title_zh="出错了", title_en="Error",
                          notice=Bi(d["message_zh"], d["message_en"]))
    return guarded


def fen(value: int | None) -> str:
    """Yuan text for a screen, exact (integer fen in, never a float)."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value) // 100}.{abs(value) % 100:02d}"
