"""How a simulated payer's pay code behaves, chosen by the code's last four digits, so a test, the
demo or an installer's dry run can play every outcome a real channel has. Every channel simulator
reads the same table, so one code shape means the same thing at WeChat, Alipay, UnionPay and the bank.

    ...0000  not enough money: refused, nothing taken
    ...1111  the payer must enter a password (USERPAYING); confirms before the second query
    ...1112  the payer must enter a password and walks away: never confirms (-> reverse/cancel)
    ...2222  timeout: the channel takes the money, its answer is lost on the way back
    ...3333  timeout: the request never reaches the channel (nothing taken, the order is unknown there)
    ...4444  unknown outcome: the channel answers a system error although it took the money
anything else: paid at once.
"""
from __future__ import annotations

from typing import Literal

Plan = Literal["paid", "insufficient", "password_then_paid", "password_never", "answer_lost", "request_lost",
               "system_error_paid"]
_BY_SUFFIX: dict[str, Plan] = {"0000": "insufficient", "1111": "password_then_paid", "1112": "password_never",
                               "2222": "answer_lost", "3333": "request_lost", "4444": "system_error_paid"}


def plan_of(code: str) -> Plan:
    return _BY_SUFFIX.get(code[-4:], "paid")

