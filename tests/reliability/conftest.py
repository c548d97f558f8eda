from __future__ import annotations

import pytest

from tests.sync.rig import Canteen


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One real backend process (SQLite) per test module; each test registers its own terminal."""
    canteen = Canteen(tmp_path_factory.mktemp("reliability"))
    yield canteen
    canteen.close()
