"""Changing the face model without locking anyone out, across the real backend and a real
terminal store: a bank on dlib (one diner signed through the API with a dlib template and no
photos, one at the desk with photos) runs `retemplate --model sface`; the terminal keeps dlib
while one signed face has no SFace template, and switches only once that diner re-enrolled.
Then an SFace probe photo of that diner matches in the terminal's SFace gallery."""
from __future__ import annotations

import base64

import cv2
import numpy as np
from fastapi.testclient import TestClient

from backend.services import face_desk
from backend.services.vault import vault_of
from hardware.face.config import FaceConfig
from hardware.face.enrol import Enroller
from hardware.face.frames import to_rgb
from core.wire import Change
from terminal.face_loop import choose_model, load_gallery
from tests.backend.helpers import bearer, make_app, operator_token
from tests.backend.money_helpers import open_canteen
from tests.hardware.facekit import DATA, photo
from tests.terminal.helpers import open_store, register_fake


def pull_into(store, client: TestClient, shop) -> None:  # noqa: ANN001
    cursor = store.pull_cursor()              # as the sync loop pulls: from where the last page ended
    while True:
        page = client.get("/api/v1/terminal/sync/pull", params={"cursor": cursor, "limit": 500}, auth=shop.auth).json()
        store.cache.apply_changes([Change.model_validate(c) for c in page["changes"]], page["cursor"],
                                  store.clock.now())
        cursor = page["cursor"]
        if not page["more"]:
            return


def sign_at_desk(app, shop, customer_id: int, name: str, engine, also=()) -> None:  # noqa: ANN001
    with app.state.sessions() as session:
        result = face_desk.enrol_at_desk(
            session, vault_of(app.state.settings), engine, customer_id,
            photos=[(name, (DATA / name).read_bytes())], consent=True, consent_at=shop.now(),
            per_payment_limit_fen=3000, per_day_limit_fen=10000, merchant_ids=[], now=shop.now(), also=list(also))
        assert result.ok, result
        session.commit()


def test_a_terminal_switches_to_sface_only_when_every_signed_face_has_it(sqlite_url: str, tmp_path) -> None:  # noqa: ANN001
    dlib, sface = face_desk.engine_for("dlib"), face_desk.engine_for("sface")
    settings = FaceConfig(encoder="sface")
    app = make_app(sqlite_url)
    store = open_store(tmp_path / "terminal.db")
    register_fake(store)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        token = operator_token(app)
        people = {}
        for name, phone in (("成龙", "13800001234"), ("唐家璇", "13700004321")):
            people[name] = client.post("/api/v1/customers", headers=bearer(token),
                                       json={"name": name, "phone": phone}).json()["id"]
        found, _ = Enroller(dlib).templates([photo("Jackie_Chan_0001.jpg")])
        legacy = base64.b64encode(np.asarray(found[0], "<f4").tobytes()).decode()
        assert client.post(f"/api/v1/customers/{people['成龙']}/signings/face", headers=bearer(token), json={
            "consent_at": "2026-03-01T08:00:00+08:00", "consent_text_version": "v1", "templates": [legacy],
            "per_payment_limit_fen": 3000, "per_day_limit_fen": 10000}).status_code == 201
        sign_at_desk(app, shop, people["唐家璇"], "Tang_Jiaxuan_0001.jpg", dlib)

        pull_into(store, client, shop)
        assert choose_model(store, settings).model == "dlib"        # nobody has SFace yet

        with app.state.sessions() as session:
            report = face_desk.retemplate(session, vault_of(app.state.settings), sface, shop.now())
            session.commit()
        assert report.retemplated == [people["唐家璇"]]
        assert [cid for cid, _ in report.without_photos] == [people["成龙"]]
        pull_into(store, client, shop)
        choice = choose_model(store, settings)
        assert choice.model == "dlib" and choice.complete            # one face lacks SFace: stay on dlib
        assert people["成龙"] in load_gallery(store, settings, "dlib")

        # The diner without photos comes back to the desk: revoke, sign again from a photo.
        signing_id = next(s["id"] for s in client.get(f"/api/v1/customers/{people['成龙']}/signings",
                                                      headers=bearer(token)).json() if s["kind"] == "face")
        assert client.post(f"/api/v1/signings/{signing_id}/revoke", headers=bearer(token),
                           json={"reason": "re-enrol for the new face model"}).status_code == 200
        sign_at_desk(app, shop, people["成龙"], "Jackie_Chan_0001.jpg", sface, also=[dlib])
        pull_into(store, client, shop)
        assert choose_model(store, settings).model == "sface"        # complete: switch

        gallery = load_gallery(store, settings, "sface")
        assert set(people.values()) <= set(gallery._templates)
        sface.gallery = gallery
        rgb = to_rgb(cv2.imread(str(DATA / "Jackie_Chan_0002.jpg")))
        obs = sface.observe(rgb)
        match = sface.identify(sface.probe_template(rgb, obs))
        assert match.decision in ("accept", "confirm") and people["成龙"] in (match.person_id, *match.candidate_ids)
    store.close()
    app.state.engine.dispose()
