"""The backend answers its health check and tags every answer with a request id."""
from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from backend.app import create_app
from backend.config import BackendSettings


def test_health_reports_database_and_echoes_request_id(db_url: str, tmp_path) -> None:  # noqa: ANN001
    app = create_app(BackendSettings(database_url=db_url, key_file=tmp_path / "keys.json", log_json=True))
    with TestClient(app) as client:
        r = client.get("/health", headers={"X-Request-Id": "abc123"})
        assert r.status_code == 200
        assert r.json()["database"] == "ok"
        assert r.headers["X-Request-Id"] == "abc123"
        assert client.get("/health").headers["X-Request-Id"]  # one is made when none is sent
        assert client.get("/openapi.json").json()["info"]["title"] == "gatepay backend"


def test_health_says_degraded_when_the_database_is_gone(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path}/missing-dir/x.db"
    app = create_app(BackendSettings(database_url=url, key_file=tmp_path / "keys.json"))
    shutil.rmtree(tmp_path / "missing-dir")     # the disk holding the database is gone
    with TestClient(app) as client:
        body = client.get("/health").json()
    assert body["status"] == "degraded"
