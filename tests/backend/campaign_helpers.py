"""Helpers for the campaign tests: a campaign made through the real API, and ledger balances."""
from __future__ import annotations

from sqlalchemy import select

from backend.models.ledger import Account
from backend.services.ledger import balance_of


def campaign(canteen, *, status: str = "active", **terms) -> dict:  # noqa: ANN001, ANN003
    """A bank-funded campaign at the canteen's merchant (active unless told)."""
    body = {"name": f"{terms.get('kind', 'fixed')} offer", "merchant_ids": [canteen.merchant_id],
            "status": status, **terms}
    return canteen.post("/api/v1/campaigns", body)


def account_balance(app, code: str) -> int:  # noqa: ANN001
    """Credits minus debits of the account with this code (0 when it was never used)."""
    with app.state.sessions() as session:
        found = session.scalar(select(Account.id).where(Account.code == code))
        return 0 if found is None else balance_of(session, found)


def merchant_balance(canteen) -> int:  # noqa: ANN001
    return account_balance(canteen.app, f"merchant:{canteen.merchant_id}")
