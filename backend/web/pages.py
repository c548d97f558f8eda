"""The admin web page, /admin: login and logout, and the routers of every page. Merchants are in
backend.web.merchant_pages, sites in site_pages and parking_pages, terminals in terminal_pages.
Customers and signings are in backend.web.customer_pages, subsidies in subsidy_pages, payments in
payment_pages; settlement, reconciliation and reports in money_pages. Same roles as the API; a
merchant admin sees only its own merchant."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy.orm import Session

from backend.deps import get_session, request_now
from backend.web import (campaign_pages, customer_pages, login_throttle, merchant_pages, money_pages, parking_pages,
                         payment_pages, signing_desk, site_pages, subsidy_pages, terminal_pages, texts)
from backend.web import analytics_pages, marketing_pages
from backend.web.render import HERE, render
from backend.web.session import (ADMIN_SESSION_S, TOKEN_COOKIE, NotAllowed, check_csrf,
                                 new_session, operator_for_session, operator_for_token, revoke_session,
                                 set_cookie, to_login)

org_pages = APIRouter(prefix="/admin", include_in_schema=False)
router = APIRouter(include_in_schema=False)     # what app._routers() includes: both page routers


@org_pages.get("/static/admin.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "admin.css", media_type="text/css")


@org_pages.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/admin/settlement", status_code=303)


@org_pages.get("/login")
def login_form(request: Request):  # noqa: ANN201
    return render(request, None, "login.html", title_zh="登录", title_en="Log in")


@org_pages.post("/login")
def login(request: Request, token: str = Form(""), csrf: str = Form(""), session: Session = Depends(get_session)):  # noqa: ANN201
    try:
        check_csrf(request, csrf)
    except Exception:  # noqa: BLE001 - any mismatch: show the form again with words
        return render(request, None, "login.html", status=400, title_zh="登录", title_en="Log in",
                      notice="页面已过期，请重新输入令牌。The page expired; enter the token again.")
    try:
        attempt = login_throttle.begin(session, login_throttle.client_of(request), request_now(request))
    except login_throttle.TooManyFailures as exc:
        minutes = -(-exc.retry_after_s // 60)
        response = render(request, None, "login.html", status=429, title_zh="登录", title_en="Log in",
                          notice=f"登录失败次数过多，请 {minutes} 分钟后再试。"
                                 f"Too many failed logins; try again in {minutes} min.")
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    who = operator_for_token(request, session, token.strip())
    if who is None:
        return render(request, None, "login.html", status=401, title_zh="登录", title_en="Log in",
                      notice="令牌无效或已停用，请向管理员申请新令牌。The token is not valid or was deactivated.")
    login_throttle.succeeded(session, attempt)
    response = RedirectResponse("/admin/settlement", status_code=303)
    set_cookie(response, request, TOKEN_COOKIE, new_session(request, session, who), max_age=ADMIN_SESSION_S)
    return response


@org_pages.post("/logout")
def logout(request: Request, csrf: str = Form(""), session: Session = Depends(get_session)):  # noqa: ANN201
    """End the session on the server (every copy of the cookie), then forget the cookie."""
    cookie = request.cookies.get(TOKEN_COOKIE)
    who = operator_for_session(request, session, cookie)
    if who is not None:
        try:
            check_csrf(request, csrf)
        except NotAllowed:
            return render(request, who, "page.html", status=403, title_zh="退出", title_en="Log out",
                          notice="页面已过期，请刷新后再退出。The page expired; reload it and log out again.")
        revoke_session(request, session, cookie)
    response = to_login()
    response.delete_cookie(TOKEN_COOKIE, path="/admin")
    return response


router.include_router(org_pages)
router.include_router(money_pages.router)
router.include_router(signing_desk.router)
router.include_router(customer_pages.router)
router.include_router(subsidy_pages.router)
router.include_router(campaign_pages.router)
router.include_router(payment_pages.router)
router.include_router(analytics_pages.router)
router.include_router(marketing_pages.router)
router.include_router(texts.router)
for onboarding in (merchant_pages, site_pages, parking_pages, terminal_pages):
    router.include_router(onboarding.router)
