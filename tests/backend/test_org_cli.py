"""`gatepay backend create-operator` and `seed-demo` as an installer runs them, and the org
migration matching the models on both databases."""
from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.cli import app as backend_cli
from tests.backend.helpers import TEST_KEYS, bearer, make_app, schema_drift

ORG_TABLES = {"merchants", "merchant_fees", "sites", "meal_periods", "lanes", "terminals", "enrolment_codes",
              "operators", "used_nonces", "sync_changes"}


def _env(db_url: str) -> dict[str, str]:
    return {"GATEPAY_DATABASE_URL": db_url, "GATEPAY_DATA_KEY": TEST_KEYS["data_key"],
            "GATEPAY_HASH_KEY": TEST_KEYS["hash_key"], "GATEPAY_CARD_HASH_KEY": TEST_KEYS["card_hash_key"]}


def test_create_operator_prints_a_token_that_works_once_shown(db_url: str) -> None:
    result = CliRunner().invoke(backend_cli, ["create-operator", "--name", "张三", "--role", "operator"],
                                env=_env(db_url))
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("gpo_")
    with TestClient(make_app(db_url)) as client:
        listed = client.get("/api/v1/operators", headers=bearer(token))
    assert listed.status_code == 200 and [o["name"] for o in listed.json()] == ["张三"]
    assert token not in listed.text


def test_create_operator_refuses_a_merchant_admin_without_merchant(sqlite_url: str) -> None:
    result = CliRunner().invoke(backend_cli, ["create-operator", "--name", "x", "--role", "merchant_admin"],
                                env=_env(sqlite_url))
    assert result.exit_code == 2 and "--merchant-id" in result.output


def test_seed_demo_once_then_unchanged(sqlite_url: str) -> None:
    first = CliRunner().invoke(backend_cli, ["seed-demo"], env=_env(sqlite_url))
    assert first.exit_code == 0, first.output
    token = next(line.split(": ", 1)[1] for line in first.output.splitlines() if line.startswith("token operator"))
    with TestClient(make_app(sqlite_url)) as client:
        merchants = client.get("/api/v1/merchants", headers=bearer(token)).json()
    assert [m["status"] for m in merchants] == ["approved", "approved"]
    again = CliRunner().invoke(backend_cli, ["seed-demo"], env=_env(sqlite_url))
    assert again.exit_code == 0 and "already present" in again.output


def test_org_tables_match_the_models(db_url: str) -> None:
    def table_of(diff) -> str | None:  # noqa: ANN001
        op = diff[0] if isinstance(diff, list) else diff
        for part in op[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in ORG_TABLES:
                return name
        return None

    assert [d for d in schema_drift(db_url) if table_of(d) in ORG_TABLES] == []
