"""The signing desk and model changes, on the real backend app with real photos: a diner signed
from photos (sealed at rest), refusals in words, the 4-digit check's key and digests reaching a
terminal's pull, `gatepay backend retemplate`, and dlib templates from before model ids."""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from backend.cli import app as backend_cli
from backend.models.signings import FacePhoto, FaceTemplate
from hardware.face.templates import unpack
from core.face_digits import digits_match
from tests.backend.helpers import TEST_KEYS, bearer, make_app, operator_token
from tests.backend.money_helpers import open_canteen

FACES = Path(__file__).parents[1] / "data" / "faces"


def model_of(app, row: FaceTemplate) -> str:  # noqa: ANN001
    from backend.services.face_desk import template_model
    from backend.services.vault import vault_of

    return template_model(vault_of(app.state.settings), row)


def photo(name: str) -> tuple[str, tuple[str, bytes, str]]:
    return ("photos", (name, (FACES / name).read_bytes(), "image/jpeg"))


def desk(client: TestClient, token: str, customer_id: int, photos: list[str], consent: bool = True):  # noqa: ANN201
    return client.post("/admin/signing-desk", headers=bearer(token), files=[photo(p) for p in photos],
                       data={"customer_id": str(customer_id), "consent": "yes" if consent else "",
                             "per_payment_yuan": "30", "per_day_yuan": "100"})


def new_customer(client: TestClient, token: str, name: str, phone: str) -> int:
    response = client.post("/api/v1/customers", headers=bearer(token), json={"name": name, "phone": phone})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_desk_signs_a_diner_from_photos_and_says_why_it_refuses_others(db_url: str) -> None:
    app = make_app(db_url)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        token = operator_token(app)
        jackie = new_customer(client, token, "成龙", "13800001234")
        signed = desk(client, token, jackie, ["Jackie_Chan_0001.jpg", "Jackie_Chan_0003.jpg"])
        assert signed.status_code == 200 and "签约成功" in signed.text and "Signed" in signed.text

        other = new_customer(client, token, "李四海", "13900005678")
        again = desk(client, token, other, ["Jackie_Chan_0002.jpg"])
        assert again.status_code == 409
        assert "已签约给另一位客户" in again.text and "already signed as someone else" in again.text

        bad = desk(client, token, other, ["Recep_Tayyip_Erdogan_0004.jpg", "SOURCES.csv"])
        assert bad.status_code == 422
        assert "人脸不够正面" in bad.text and "not frontal" in bad.text
        assert "不是可读取的照片" in bad.text

        no_consent = desk(client, token, other, ["Tang_Jiaxuan_0001.jpg"], consent=False)
        assert no_consent.status_code == 422 and "同意" in no_consent.text

        with app.state.sessions() as session:
            photos = session.scalars(select(FacePhoto)).all()
            templates = session.scalars(select(FaceTemplate)).all()
        assert len(photos) == 2 and len(templates) == 2 and {model_of(app, t) for t in templates} == {"sface"}
        raw = (FACES / "Jackie_Chan_0001.jpg").read_bytes()
        assert all(raw[:64] not in p.photo_sealed for p in photos)          # sealed, not the JPEG

        # A terminal of the site pulls the signing: templates tagged sface, the digits digest, the key.
        pulled = client.get("/api/v1/terminal/sync/pull?cursor=0", auth=shop.auth).json()["changes"]
        face = next(c for c in pulled if c["kind"] == "face_signing" and c["key"] == str(jackie))
        assert {unpack(base64.b64decode(t)).model for t in face["data"]["templates"]} == {"sface"}
        setting = next(c for c in pulled if c["kind"] == "face_confirm")["data"]
        key = base64.b64decode(setting["digits_key"])
        assert setting["enabled"] and setting["band_pct"] == 100
        assert digits_match(key, jackie, "1234", face["data"]["confirm_digits"])
        assert not digits_match(key, jackie, "5678", face["data"]["confirm_digits"])
        with app.state.sessions() as session:   # the key is attached at pull, never in the change feed
            from backend.models.changes import SyncChange
            stored = session.scalars(select(SyncChange).where(SyncChange.kind == "face_confirm")).all()
            assert stored and all(not row.data.get("digits_key") for row in stored)
    app.state.engine.dispose()


def test_retemplate_makes_the_new_models_templates_from_the_sealed_photos(db_url: str) -> None:
    """A deployment on dlib: one diner signed at the desk (photos kept) and one signed through the
    API with a bare dlib template (no photos). `retemplate --model sface` gives the first SFace
    templates, published to terminals, and lists the second for re-enrolment."""
    from backend.services import face_desk
    from backend.services.vault import vault_of
    from tests.backend.money_helpers import template

    app = make_app(db_url)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        token = operator_token(app)
        old = shop.customer("王五")                       # API signing: a dlib template, no photos
        tang = new_customer(client, token, "唐家璇", "13700004321")
        with app.state.sessions() as session:           # signed at a desk that ran dlib
            result = face_desk.enrol_at_desk(
                session, vault_of(app.state.settings), face_desk.engine_for("dlib"), tang,
                photos=[("t.jpg", (FACES / "Tang_Jiaxuan_0001.jpg").read_bytes())], consent=True,
                consent_at=shop.now(), per_payment_limit_fen=3000, per_day_limit_fen=10000,
                merchant_ids=[], now=shop.now())
            assert result.ok
            session.commit()
        assert template  # (the API signing above used it)
    app.state.engine.dispose()

    env = {"GATEPAY_DATABASE_URL": db_url, **{f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}}
    run = CliRunner().invoke(backend_cli, ["retemplate", "--model", "sface"], env=env)
    assert run.exit_code == 0, run.output
    assert "retemplated=1 without_photos=1" in run.output and f"customer {old}" in run.output

    app = make_app(db_url, clock=shop.app.state.clock)
    shop.app = app                                      # the terminal signs with this app's clock
    with TestClient(app) as client:
        with app.state.sessions() as session:
            models = {(t.customer_id, model_of(app, t)) for t in session.scalars(select(FaceTemplate))}
        assert models == {(old, "dlib"), (tang, "dlib"), (tang, "sface")}
        pulled = client.get("/api/v1/terminal/sync/pull?cursor=0", auth=shop.auth).json()["changes"]
        face = [c for c in pulled if c["kind"] == "face_signing" and c["key"] == str(tang)][-1]
        assert {unpack(base64.b64decode(t)).model for t in face["data"]["templates"]} == {"dlib", "sface"}
        assert any(c["kind"] == "face_model" and c["data"]["model"] == "sface" for c in pulled)
        old_face = [c for c in pulled if c["kind"] == "face_signing" and c["key"] == str(old)][-1]
        legacy = [unpack(base64.b64decode(t)) for t in old_face["data"]["templates"]]
        assert [t.model for t in legacy] == ["dlib"] and legacy[0].vector.shape == (128,)
        assert np.all(np.isfinite(legacy[0].vector))
    app.state.engine.dispose()


def test_a_dlib_template_stored_before_model_ids_is_dlib_after_the_upgrade(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrate a database holding a face signing from the revision before model ids to head."""
    from backend.migrate import upgrade
    from backend.services import campaign_slices

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0008_admin_sessions")
    app = make_app(url)
    with TestClient(app) as client, monkeypatch.context() as old_code:
        # That revision's code had no campaign budget slices to hand out when a terminal registers.
        old_code.setattr(campaign_slices, "refresh_terminal", lambda *args, **kwargs: None)
        shop = open_canteen(app, client)
        cid = shop.customer("张小三")
    app.state.engine.dispose()
    upgrade(url)
    app = make_app(url, clock=shop.app.state.clock)
    shop.app = app
    with TestClient(app) as client:
        with app.state.sessions() as session:
            rows = session.scalars(select(FaceTemplate).where(FaceTemplate.customer_id == cid)).all()
        assert [model_of(app, r) for r in rows] == ["dlib"]
        pulled = client.get("/api/v1/terminal/sync/pull?cursor=0", auth=shop.auth).json()["changes"]
        face = [c for c in pulled if c["kind"] == "face_signing" and c["key"] == str(cid)][-1]
        assert unpack(base64.b64decode(face["data"]["templates"][0])).model == "dlib"
    app.state.engine.dispose()


def test_a_face_signed_only_with_an_old_dlib_template_is_still_found_at_the_desk(sqlite_url: str) -> None:
    """A diner signed before the new model (a real dlib template, no photos) comes to the desk as
    someone else: the duplicate check runs in dlib too, so the second signing is refused."""
    import cv2

    from backend.services.face_desk import engine_for
    from hardware.face.enrol import Enroller

    dlib = engine_for("dlib")
    found, _ = Enroller(dlib).templates([cv2.imread(str(FACES / "Jackie_Chan_0001.jpg"))])
    legacy = base64.b64encode(np.asarray(found[0], "<f4").tobytes()).decode()
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        open_canteen(app, client)
        token = operator_token(app)
        first = new_customer(client, token, "成龙", "13800001234")
        signed = client.post(f"/api/v1/customers/{first}/signings/face", headers=bearer(token), json={
            "consent_at": "2026-03-01T08:00:00+08:00", "consent_text_version": "v1", "templates": [legacy],
            "per_payment_limit_fen": 3000, "per_day_limit_fen": 10000})
        assert signed.status_code == 201, signed.text
        other = new_customer(client, token, "李四海", "13900005678")
        again = desk(client, token, other, ["Jackie_Chan_0002.jpg"])
        assert again.status_code == 409 and "已签约给另一位客户" in again.text and f"编号 {first}" in again.text
        fresh = new_customer(client, token, "唐家璇", "13700004321")
        ok = desk(client, token, fresh, ["Tang_Jiaxuan_0001.jpg"])
        assert ok.status_code == 200, ok.text
        with app.state.sessions() as session:           # templates for both models in use
            models = sorted(model_of(app, t) for t in session.scalars(
                select(FaceTemplate).where(FaceTemplate.customer_id == fresh)))
        assert models == ["dlib", "sface"]
    app.state.engine.dispose()


def test_the_site_setting_reaches_the_sites_terminals_and_only_operators_change_it(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        token = operator_token(app)
        url = f"/api/v1/sites/{shop.site_id}/face-confirm"
        assert client.get(url, headers=bearer(token)).json()["enabled"] is True
        changed = client.put(url, headers=bearer(token), json={"enabled": False, "band_pct": 40})
        assert changed.status_code == 200 and changed.json()["band_pct"] == 40
        assert client.put(url, headers=bearer(token), json={"enabled": True, "band_pct": 101}).status_code == 422
        admin = operator_token(app, "merchant_admin", merchant_id=shop.merchant_id)
        assert client.put(url, headers=bearer(admin), json={"enabled": True, "band_pct": 100}).status_code == 403
        pulled = client.get("/api/v1/terminal/sync/pull?cursor=0", auth=shop.auth).json()["changes"]
        setting = [c for c in pulled if c["kind"] == "face_confirm"][-1]["data"]
        assert (setting["enabled"], setting["band_pct"]) == (False, 40) and setting["digits_key"]
    app.state.engine.dispose()


def test_the_signing_api_takes_templates_tagged_with_their_model(sqlite_url: str) -> None:
    """An enrolment client on SFace sends tagged templates: stored as SFace (not read as dlib),
    compared for duplicates with SFace's own distance; an unknown model or a damaged tag is 422."""
    import cv2

    from backend.services.face_desk import engine_for
    from hardware.face.enrol import Enroller
    from hardware.face.templates import pack, to_text

    sface = engine_for("sface")
    found, _ = Enroller(sface).templates([cv2.imread(str(FACES / n)) for n in
                                          ("Jackie_Chan_0001.jpg", "Jackie_Chan_0002.jpg")])
    body = {"consent_at": "2026-03-01T08:00:00+08:00", "consent_text_version": "v1",
            "per_payment_limit_fen": 3000, "per_day_limit_fen": 10000}
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        token = operator_token(app)
        first, second = (new_customer(client, token, n, p) for n, p in (("成龙", "13800001234"), ("李四海", "13900005678")))
        url = "/api/v1/customers/{}/signings/face"
        ok = client.post(url.format(first), headers=bearer(token), json={**body, "templates": [to_text("sface", found[0])]})
        assert ok.status_code == 201, ok.text
        dup = client.post(url.format(second), headers=bearer(token), json={**body, "templates": [to_text("sface", found[1])]})
        assert dup.status_code == 409 and dup.json()["detail"]["code"] == "face_signed_to_another"
        unknown = base64.b64encode(pack("arcface9", found[1])).decode()
        bad = client.post(url.format(second), headers=bearer(token), json={**body, "templates": [unknown]})
        damaged = base64.b64encode(pack("sface", found[1])[:-4]).decode()    # header and length disagree
        worse = client.post(url.format(second), headers=bearer(token), json={**body, "templates": [damaged]})
        assert bad.status_code == worse.status_code == 422 and "模板" in bad.json()["detail"]["message_zh"]
        pulled = client.get("/api/v1/terminal/sync/pull?cursor=0", auth=shop.auth).json()["changes"]
        face = next(c for c in pulled if c["kind"] == "face_signing" and c["key"] == str(first))
        assert [unpack(base64.b64decode(t)).model for t in face["data"]["templates"]] == ["sface"]
    app.state.engine.dispose()


def test_a_photo_claiming_gigapixels_is_refused_before_it_is_decoded() -> None:
    import io

    from PIL import Image

    from backend.services.face_desk import check_photos, engine_for

    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")       # ~50 kB on disk, 400 megapixels
    _found, verdicts = check_photos(engine_for("sface"), [("bomb.png", bomb.getvalue())])
    assert [v.reason for v in verdicts] == ["too_many_pixels"] and "像素过多" in verdicts[0].words[0]
