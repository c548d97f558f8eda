"""The fast 1:N search (int8 first pass, exact rescoring) against brute force: same people, same
order, bit-identical distances, on random, adversarial and real-face galleries."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.face.gallery import Gallery, normalised
from hardware.face.models import MAX_CONFIRM_CANDIDATES, get_model
from hardware.face.search import SMALL, ExactRows, Int8Index, best_k
from tests.hardware.facekit import PEOPLE, enrolled_templates, probe

SFACE = get_model("sface")


def brute_force(exact: ExactRows, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every row scored, the k best kept (ties: lower row first)."""
    return best_k(np.arange(exact.rows), exact.all(query), k)


def fast_equals_brute_force(matrix: np.ndarray, queries: np.ndarray, k: int, scale: float = 1.0) -> None:
    exact = ExactRows(matrix)
    index = Int8Index(exact, matrix, scale)
    for q in queries:
        rows, sims = index.top(q, k)
        want_rows, want_sims = brute_force(exact, q, k)
        assert rows.tolist() == want_rows.tolist()
        assert sims.tobytes() == want_sims.tobytes()          # bit-identical, not merely close


def unit_rows(rng, n: int, d: int = 128) -> np.ndarray:
    return normalised(rng.normal(size=(n, d)).astype(np.float32), 1.0)


def test_exact_scores_of_some_rows_are_bit_identical_to_scoring_every_row():
    rng = np.random.default_rng(1)
    matrix = unit_rows(rng, 5_003)                 # not a multiple of the block size
    exact = ExactRows(matrix)
    q = unit_rows(rng, 1)[0]
    every = exact.all(q)
    for n in (1, 2, 7, 40, 900):
        rows = np.sort(rng.choice(len(matrix), n, replace=False))
        assert exact.some(rows, q).tobytes() == every[rows].tobytes()
    # and brute force is the real dot product, to float32 rounding
    np.testing.assert_allclose(every, matrix.astype(np.float64) @ q.astype(np.float64), atol=2e-6)


def test_one_row_and_fewer_rows_than_asked_for():
    rng = np.random.default_rng(2)
    fast_equals_brute_force(unit_rows(rng, 1), unit_rows(rng, 3), k=5)
    fast_equals_brute_force(unit_rows(rng, 3), unit_rows(rng, 3), k=5)


def test_duplicates_and_near_ties_come_out_in_the_same_order():
    rng = np.random.default_rng(3)
    base = unit_rows(rng, 50)
    dup = np.repeat(base, 40, axis=0)                                      # 40 copies of each
    near = normalised(dup + rng.normal(0, 1e-5, dup.shape).astype(np.float32), 1.0)   # ties to int8
    queries = np.vstack([base[:5], normalised(base[5:10] + 0.05, 1.0), unit_rows(rng, 5)])
    for matrix in (dup, near, np.vstack([near, dup])):
        fast_equals_brute_force(matrix, queries, k=MAX_CONFIRM_CANDIDATES)


def test_rounding_that_ranks_the_wrong_row_first_does_not_change_the_answer():
    """The true best row rounds down and its rivals round up: the int8 pass ranks a rival first,
    the rescoring still returns the true best."""
    rng = np.random.default_rng(4)
    d = 128
    q = np.full(d, 1 / np.sqrt(d), np.float32)
    best = q.copy()                                          # parallel to q: similarity 1
    big = np.zeros(d, np.float32)
    big[0] = 0.977                                           # sets the int8 step so `best` ...
    big[1:] = np.sqrt((1 - 0.977 ** 2) / (d - 1))            # ... sits just under a half step
    rivals = normalised(best + rng.normal(0, 4e-3, (3_000, d)).astype(np.float32), 1.0)
    matrix = np.vstack([rivals[:1_500], best, rivals[1_500:], big])
    step = np.abs(matrix).max() / 127
    int8_scores = np.round(matrix / step) @ np.round(q / (np.abs(q).max() / 127))
    assert int8_scores.argmax() != 1_500                      # the int8 pass alone would be wrong
    rows, sims = Int8Index(ExactRows(matrix), matrix, 1.0).top(q, 1)
    assert rows.tolist() == [1_500]
    fast_equals_brute_force(matrix, np.vstack([q, rivals[:3]]), k=MAX_CONFIRM_CANDIDATES)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), people=st.integers(1, 400), copies=st.integers(1, 4),
       noise=st.sampled_from([0.0, 1e-6, 1e-3, 0.05, 1.0]), k=st.integers(1, 7),
       query=st.sampled_from(["member", "near_member", "random"]))
def test_fast_search_equals_brute_force_on_generated_galleries(seed, people, copies, noise, k, query):
    rng = np.random.default_rng(seed)
    base = np.repeat(unit_rows(rng, people), copies, axis=0)
    matrix = normalised(base + noise * rng.normal(size=base.shape).astype(np.float32), 1.0)
    if query == "member":
        q = matrix[rng.integers(len(matrix))]
    elif query == "near_member":
        q = normalised(matrix[rng.integers(len(matrix))] + rng.normal(0, 0.02, 128).astype(np.float32), 1.0)
    else:
        q = unit_rows(rng, 1)[0]
    fast_equals_brute_force(matrix, q[None, :], k)


@pytest.fixture(scope="module")
def big_gallery():
    """100,000 people, one random template each, plus two who look alike (a twin pair)."""
    rng = np.random.default_rng(5)
    templates = rng.normal(0, 0.12, (100_000, 128)).astype(np.float32)
    twin = templates[17]
    templates[18] = twin + rng.normal(0, 0.003, 128).astype(np.float32)
    g = Gallery(model="sface")
    g.load(np.arange(100_000) + 1_000_000, templates)
    return g, templates


def reference_nearest(g: Gallery, q: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Brute force through the gallery's public per-person distances."""
    ids, dist = g.person_distances(q)
    order = np.lexsort((ids, dist))[:k]
    return [(int(ids[i]), float(dist[i])) for i in order]


def test_a_gallery_of_100000_people_answers_as_brute_force(big_gallery):
    g, templates = big_gallery
    assert g.persons >= SMALL
    rng = np.random.default_rng(6)
    queries = [templates[i] + rng.normal(0, 0.03, 128).astype(np.float32) for i in rng.integers(0, 100_000, 10)]
    queries += [rng.normal(0, 0.12, 128).astype(np.float32) for _ in range(10)]      # strangers
    queries += [templates[17], templates[1234]]
    for q in queries:
        got = [(c.person_id, c.distance) for c in g.nearest(q, MAX_CONFIRM_CANDIDATES)]
        assert got == reference_nearest(g, q, MAX_CONFIRM_CANDIDATES)


def test_a_gallery_of_100000_people_still_accepts_confirms_and_rejects(big_gallery):
    g, templates = big_gallery
    args = (SFACE.threshold, SFACE.margin, SFACE.confirm_threshold)
    own = g.identify(templates[1234] * 1.3, *args)           # the person's own template, rescaled
    assert own.decision == "accept" and own.person_id == 1_001_234 and own.distance < 1e-3
    twin = g.identify(templates[17], *args)                  # the twin is too close to call
    assert twin.decision == "confirm" and set(twin.candidate_ids) >= {1_000_017, 1_000_018}
    assert twin.reason == "ambiguous"
    stranger = g.identify(np.random.default_rng(8).normal(0, 0.12, 128).astype(np.float32), *args)
    assert stranger.decision == "reject" and stranger.reason == "no_match"


def test_real_diners_in_a_crowd_of_30000_are_found_as_in_a_gallery_of_four():
    rng = np.random.default_rng(9)
    crowd = Gallery(model="sface")
    crowd.load(np.arange(30_000) + 1_000_000, rng.normal(0, 0.12, (30_000, 128)).astype(np.float32))
    small = Gallery(model="sface")
    for pid, templates in enrolled_templates().items():
        crowd.set_person(pid, templates)
        small.set_person(pid, templates)
    args = (SFACE.threshold, SFACE.margin, SFACE.confirm_threshold)
    for name, pid in PEOPLE.items():
        q = probe(f"{name}_0001.jpg")
        in_crowd, alone = crowd.identify(q, *args), small.identify(q, *args)
        assert in_crowd.decision == alone.decision == "accept" and in_crowd.person_id == pid
        assert in_crowd.distance == alone.distance
        got = [(c.person_id, c.distance) for c in crowd.nearest(q, MAX_CONFIRM_CANDIDATES)]
        assert got == reference_nearest(crowd, q, MAX_CONFIRM_CANDIDATES)


def test_asking_for_nobody_gives_nobody_on_both_paths():
    rng = np.random.default_rng(10)
    matrix = unit_rows(rng, 5_000)
    exact = ExactRows(matrix)
    rows, sims = Int8Index(exact, matrix, 1.0).top(matrix[0], 0)
    assert len(rows) == len(sims) == 0 and len(brute_force(exact, matrix[0], 0)[0]) == 0
