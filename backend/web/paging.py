"""Pagination of a console list: 50 rows a page, "第 2/7 页 Page 2 of 7" with previous/next links.

    paged = paginate(session, select(Terminal).order_by(Terminal.id), request)
    rows = [... for t in paged.rows]
    section = {"title": ..., "columns": ..., "rows": rows, "pager": paged}

The page number comes from the query string (`page`, or `param` when a page has two lists);
anything that is not a page number shows the first page, a number past the end the last one.
The query must have an ORDER BY, so pages do not overlap.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.web.texts import Bi

PER_PAGE = 50


@dataclass(frozen=True)
class Paged:
    rows: list
    number: int          # 1-based
    pages: int           # at least 1, even for an empty list
    total: int
    prev_href: str | None
    next_href: str | None

    @property
    def label(self) -> Bi:
        return Bi(f"第 {self.number}/{self.pages} 页，共 {self.total} 条",
                  f"Page {self.number} of {self.pages}, {self.total} rows")


def page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and len(text) < 7 else 1


def paginate(session: Session, query: Select, request: Request, *, per_page: int = PER_PAGE,
             param: str = "page") -> Paged:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(max(page_number(request.query_params.get(param)), 1), pages)
    result = session.execute(query.limit(per_page).offset((number - 1) * per_page))
    # select(Model) pages give models; select(Model, other) pages give rows (tuples)
    rows = list(result.scalars() if len(query.column_descriptions) == 1 else result.all())

    def href(n: int) -> str:
        params = {k: v for k, v in request.query_params.items() if k != param}
        params[param] = str(n)
        return f"{request.url.path}?{urlencode(params)}"

    return Paged(rows, number, pages, total, href(number - 1) if number > 1 else None,
                 href(number + 1) if number < pages else None)
