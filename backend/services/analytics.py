"""Analytics for operators (issue 17; docs/MARKETING.md "Analytics"): peak hours per site, daily and
weekly trends, the method mix, repeat diners and subsidy take-up, over a window of business days.

Aggregates only: counts and fen sums, never a name, a customer id or anything about one person.
Every figure is grouped in the database (GROUP BY, on SQLite and PostgreSQL alike) and only the
groups come back. Small groups are suppressed: a cell whose payments come from fewer than
MIN_GROUP distinct diners shows "<5" instead of its figures, because a count or a sum over one or
two people is that person's own spending (a merchant admin who knows who ate late on Tuesday
would read their bill). A cell of anonymous payments only (a channel pay code: no customer) is
shown once it holds MIN_GROUP payments.

Approved payments count at their full price (amount_fen), refunds aside: it is how busy a place
is, not what it earned (settlement says that).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from backend.models.merchants import Site
from backend.models.payments import Payment, PaymentLine
from backend.models.subsidies import Grant, SubsidyProgram

MIN_GROUP = 5                    # fewer distinct diners than this in a cell: shown as "<5"
MAX_DAYS = 92                    # the widest window one page reads (a quarter)
DEFAULT_DAYS = 28


@dataclass(frozen=True)
class Window:
    """Business days `start`..`end` inclusive; `merchant_id` None = every merchant."""
    start: date
    end: date
    merchant_id: int | None = None


@dataclass(frozen=True)
class Cell:
    """One group's figures; `hidden` when too few diners are in it (then the figures are 0)."""
    label: str
    payments: int
    amount_fen: int
    hidden: bool


@dataclass(frozen=True)
class SiteHours:
    site_id: int | None
    site_name: str
    hours: list[Cell]            # 24 cells, local hour 0..23


@dataclass(frozen=True)
class Repeat:
    diners: int                  # distinct diners who paid in the window (0 when hidden)
    repeat: int                  # of them, those who paid on 2 or more business days
    hidden: bool


@dataclass(frozen=True)
class Uptake:
    program_id: int
    program_name: str
    granted_fen: int | None      # None: not shown to this reader (a merchant admin)
    spent_fen: int
    hidden: bool


@dataclass(frozen=True)
class Analytics:
    window: Window
    peak_hours: list[SiteHours]
    daily: list[Cell]
    weekly: list[Cell]
    methods: list[Cell]
    repeat: Repeat
    subsidies: list[Uptake]


def _hidden(diners: int, payments: int) -> bool:
    """Too few people behind a cell to show it (see the module's doc). An empty cell is about nobody."""
    return 0 < payments < MIN_GROUP or 0 < diners < MIN_GROUP


def _cell(label: str, payments: int, amount_fen: int, diners: int) -> Cell:
    if _hidden(int(diners), int(payments)):
        return Cell(label, 0, 0, True)
    return Cell(label, int(payments), int(amount_fen or 0), False)


_P = Payment.__table__.c
_DINERS = func.count(func.distinct(_P.customer_id))
_COUNT_SUM_DINERS = (func.count().label("payments"), func.coalesce(func.sum(_P.amount_fen), 0).label("fen"),
                     _DINERS.label("diners"))


def _approved(window: Window):  # noqa: ANN202 - a where clause
    clause = and_(_P.status == "approved", _P.business_date >= window.start.isoformat(),
                  _P.business_date <= window.end.isoformat())
    return clause if window.merchant_id is None else and_(clause, _P.merchant_id == window.merchant_id)


def _utc_hour(session: Session):  # noqa: ANN202 - an SQL expression
    """The hour (0..23, UTC) a payment happened. SQLite keeps UTC text; PostgreSQL a timestamptz,
    read in UTC whatever the server's TimeZone."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("hour", func.timezone("UTC", _P.occurred_at)), Integer)
    return cast(func.strftime("%H", _P.occurred_at), Integer)


def _week_start(session: Session):  # noqa: ANN202 - an SQL expression
    """The Monday of a payment's business date, as YYYY-MM-DD text."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("week", cast(_P.business_date, Date)), "YYYY-MM-DD")
    return func.date(_P.business_date, "-6 days", "weekday 1")


def analytics(session: Session, window: Window, *, with_grants: bool) -> Analytics:
    """Every section of the page for the window. `with_grants`: show what programs granted
    (bank staff); a merchant admin sees only what was spent at its merchant."""
    return Analytics(window, peak_hours(session, window), daily(session, window), weekly(session, window),
                     methods(session, window), repeat_diners(session, window),
                     subsidy_uptake(session, window, with_grants))


def peak_hours(session: Session, window: Window) -> list[SiteHours]:
    """Payments by site and local hour. Grouped by UTC hour in the database and moved to the
    site's local hour here (its zone's offset at the window's end: China keeps no summer time)."""
    hour = _utc_hour(session)
    rows = session.execute(select(_P.site_id, hour.label("hour"), *_COUNT_SUM_DINERS)
                           .where(_approved(window)).group_by(_P.site_id, hour)).all()
    site_ids = {r.site_id for r in rows if r.site_id is not None}
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))} if site_ids else {}
    noon = datetime.combine(window.end, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    grid: dict[int | None, list[list[int]]] = {}
    for r in rows:
        site = sites.get(r.site_id)
        offset = noon.astimezone(ZoneInfo(site.timezone if site else "Asia/Shanghai")).utcoffset()
        local = (int(r.hour) + int(offset.total_seconds() // 3600)) % 24
        cells = grid.setdefault(r.site_id, [[0, 0, 0] for _ in range(24)])
        cells[local][0] += r.payments
        cells[local][1] += int(r.fen)
        cells[local][2] += r.diners    # whole-hour offsets: one UTC hour is one local hour
    return [SiteHours(sid, sites[sid].name if sid in sites else "—",
                      [_cell(f"{h:02d}", *grid[sid][h]) for h in range(24)])
            for sid in sorted(grid, key=lambda s: (s is None, s or 0))]


def daily(session: Session, window: Window) -> list[Cell]:
    rows = session.execute(select(_P.business_date, *_COUNT_SUM_DINERS).where(_approved(window))
                           .group_by(_P.business_date).order_by(_P.business_date)).all()
    return [_cell(r.business_date, r.payments, r.fen, r.diners) for r in rows]


def weekly(session: Session, window: Window) -> list[Cell]:
    """By the Monday of the business date: diners are counted per week, so a week is not the sum
    of its days (one diner eating five days is one diner)."""
    week = _week_start(session)
    rows = session.execute(select(week.label("week"), *_COUNT_SUM_DINERS).where(_approved(window))
                           .group_by(week).order_by(week)).all()
    return [_cell(str(r.week), r.payments, r.fen, r.diners) for r in rows]


def methods(session: Session, window: Window) -> list[Cell]:
    rows = session.execute(select(_P.method, *_COUNT_SUM_DINERS).where(_approved(window))
                           .group_by(_P.method).order_by(_P.method)).all()
    return [_cell(r.method, r.payments, r.fen, r.diners) for r in rows]


def repeat_diners(session: Session, window: Window) -> Repeat:
    """Of the diners who paid in the window, how many paid on two business days or more."""
    per_diner = (select(_P.customer_id, func.count(func.distinct(_P.business_date)).label("days"))
                 .where(_approved(window), _P.customer_id.is_not(None)).group_by(_P.customer_id).subquery())
    row = session.execute(select(func.count(), func.coalesce(func.sum(case((per_diner.c.days >= 2, 1), else_=0)), 0))
                          .select_from(per_diner)).one()
    diners, repeat = int(row[0]), int(row[1])
    if diners < MIN_GROUP:
        return Repeat(0, 0, True)
    return Repeat(diners, repeat, False)


def subsidy_uptake(session: Session, window: Window, with_grants: bool) -> list[Uptake]:
    """Per program: what was granted in the window (net of clawbacks) and what diners spent of
    subsidy money in it (net of refunds), with how many diners are behind each."""
    _L, _G = PaymentLine.__table__.c, Grant.__table__.c
    spent = {r.program_id: r for r in session.execute(
        select(_L.program_id, func.coalesce(func.sum(_L.amount_fen - _L.refunded_fen), 0).label("fen"),
               _DINERS.label("diners"))
        .join(Payment.__table__, _P.id == _L.payment_id)
        .where(_approved(window), _L.source == "subsidy").group_by(_L.program_id))}
    granted = {}
    if with_grants:
        since = datetime.combine(window.start, datetime.min.time(), timezone.utc) - timedelta(hours=8)
        until = datetime.combine(window.end + timedelta(days=1), datetime.min.time(), timezone.utc) - timedelta(hours=8)
        granted = {r.program_id: r for r in session.execute(   # the window's days in China's time
            select(_G.program_id, func.coalesce(func.sum(_G.amount_fen - _G.clawed_back_fen), 0).label("fen"),
                   func.count(func.distinct(_G.customer_id)).label("diners"))
            .where(_G.created_at >= since, _G.created_at < until).group_by(_G.program_id))}
    ids = sorted(set(spent) | set(granted))
    names = dict(session.execute(select(SubsidyProgram.id, SubsidyProgram.name)
                                 .where(SubsidyProgram.id.in_(ids))).all()) if ids else {}
    out = []
    for pid in ids:
        s, g = spent.get(pid), granted.get(pid)
        small = any(row is not None and 0 < row.diners < MIN_GROUP for row in (s, g))
        out.append(Uptake(pid, names.get(pid, str(pid)), None if not with_grants else (0 if small else int(g.fen if g else 0)),
                          0 if small else int(s.fen if s else 0), small))
    return out


def default_window(today: date, merchant_id: int | None = None) -> Window:
    return Window(today - timedelta(days=DEFAULT_DAYS - 1), today, merchant_id)
