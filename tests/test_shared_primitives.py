"""The primitives both sides share: money formatting, masking, field encryption, request signing."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.signing import H_NONCE, H_SIGNATURE, H_TIMESTAMP, new_private_key, public_key_text, sign_headers, verify
from core.crypto import DecryptionError, FieldCipher, keyed_hash, key_from_text, new_key
from core.masking import mask_digits, mask_name
from core.money import format_yuan, parse_yuan


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_yuan_round_trips_through_text(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


def test_yuan_formatting_a_diner_reads() -> None:
    assert format_yuan(1250) == "12.50"
    assert format_yuan(5) == "0.05"
    assert format_yuan(-300) == "-3.00"
    with pytest.raises(TypeError):
        format_yuan(12.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1..2", "1.2x", "--1"])
def test_bad_yuan_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_yuan(text)


def test_names_and_numbers_are_masked() -> None:
    assert mask_name("张小三") == "张*三"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_digits("13812345678") == "138****5678"
    assert "1234" not in mask_digits("110101199003071234", 6, 0)[6:]


def test_sealed_values_decrypt_only_with_their_key_and_column() -> None:
    key = new_key()
    cipher = FieldCipher(key)
    sealed = cipher.seal("张小三", "customers.name")
    assert "张小三".encode() not in sealed
    assert cipher.open_text(sealed, "customers.name") == "张小三"
    with pytest.raises(DecryptionError):
        cipher.open(sealed, "customers.phone")          # copied into another column
    with pytest.raises(DecryptionError):
        FieldCipher(new_key()).open(sealed, "customers.name")
    with pytest.raises(DecryptionError):
        cipher.open(sealed[:-1], "customers.name")      # truncated


@given(st.binary(max_size=200))
def test_garbage_never_decrypts(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        FieldCipher(b"k" * 32).open(blob, "x")


def test_keyed_hash_is_stable_and_separated_by_purpose() -> None:
    key = new_key()
    assert keyed_hash(key, " 6222 ", "card") == keyed_hash(key, "6222", "card")
    assert keyed_hash(key, "6222", "card") != keyed_hash(key, "6222", "phone")
    assert keyed_hash(key, "6222", "card") != keyed_hash(new_key(), "6222", "card")


def test_key_text_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        key_from_text(base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        key_from_text("not base64 !!")


def test_signature_covers_method_path_time_nonce_and_body() -> None:
    key = new_private_key()
    pub = public_key_text(key)
    h = sign_headers(key, 7, "POST", "/api/v1/terminal/payments", b'{"a":1}', now=1_700_000_000)
    args = (int(h[H_TIMESTAMP]), h[H_NONCE])
    assert verify(pub, h[H_SIGNATURE], "POST", "/api/v1/terminal/payments", *args, b'{"a":1}')
    assert not verify(pub, h[H_SIGNATURE], "POST", "/api/v1/terminal/payments", *args, b'{"a":2}')
    assert not verify(pub, h[H_SIGNATURE], "GET", "/api/v1/terminal/payments", *args, b'{"a":1}')
    assert not verify(pub, h[H_SIGNATURE], "POST", "/api/v1/terminal/refunds", *args, b'{"a":1}')
    assert not verify(pub, h[H_SIGNATURE], "POST", "/api/v1/terminal/payments", args[0] + 1, args[1], b'{"a":1}')
    assert not verify(public_key_text(new_private_key()), h[H_SIGNATURE], "POST",
                      "/api/v1/terminal/payments", *args, b'{"a":1}')


@given(st.text(max_size=100), st.text(max_size=100))
def test_malformed_keys_and_signatures_are_refused_not_raised(pub: str, sig: str) -> None:
    assert verify(pub, sig, "GET", "/", 0, "n", b"") is False
