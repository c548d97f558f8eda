"""The 4-digit check for close face calls: keyed, stretched digests of a diner's last 4 phone digits.

The backend makes one digest per face signing when it publishes the signing; the terminal keeps
it sealed with the templates and compares what the diner keys on the kiosk with it. The plain
digits never leave the backend's vault.

Why keyed AND stretched (docs/FACE.md, "The 4-digit check"): 4 digits are only 10,000 values,
so a plain hash of them is reversed by trying all of them. The key (`digits_key`, derived from
the deployment's hash key, never stored in the database or the change feed) makes a leaked
table of digests useless without it. A thief who holds a terminal holds the key too; the
customer id in the salt stops one precomputed table from serving everyone, and PBKDF2's
iterations make each guess cost ~6 ms, so recovering one diner's digits costs about a minute of
CPU and a whole gallery of 50,000 about a month on one core (far less on a GPU). That is the
trade-off: the digits are a second factor for close calls, not a secret like a PIN.
"""
from __future__ import annotations

import hashlib
import hmac

DIGITS = 4
ITERATIONS = 20_000        # ~6 ms per digest on the terminal's CPU; a check compares 2-3 candidates
_KEY_PURPOSE = b"gatepay face-confirm digits key v1"


def derive_digits_key(hash_key: bytes) -> bytes:
    """The deployment's digits key, from its hash key (one secret fewer to keep)."""
    return hmac.new(hash_key, _KEY_PURPOSE, hashlib.sha256).digest()


def last_digits(phone: str) -> str | None:
    """The last 4 digits of a phone number, or None when it has fewer than 4 digits."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-DIGITS:] if len(digits) >= DIGITS else None


def digits_digest(key: bytes, customer_id: int, digits: str) -> str:
    """hex digest of one diner's 4 digits, salted with the key and the customer id."""
    if len(digits) != DIGITS or not digits.isdigit():
        raise ValueError(f"the check needs exactly {DIGITS} digits")
    salt = key + b"|" + str(int(customer_id)).encode()
    return hashlib.pbkdf2_hmac("sha256", digits.encode(), salt, ITERATIONS).hex()


def digits_match(key: bytes, customer_id: int, digits: str, digest: str | None) -> bool:
    if not digest or len(digits) != DIGITS or not digits.isdigit():
        return False
    return hmac.compare_digest(digits_digest(key, customer_id, digits), digest)
