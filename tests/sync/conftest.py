from __future__ import annotations

import pytest

from tests.sync.rig import Canteen


@pytest.fixture(scope="module")
def canteen(tmp_path_factory):
    """One backend process per test module (each test registers its own terminal)."""
    site = Canteen(tmp_path_factory.mktemp("canteen"))
    yield site
    site.close()


@pytest.fixture(scope="module")
def site(canteen):
    return canteen
