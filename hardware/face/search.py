"""The 1:N search: exact float32 similarities, and for big galleries an int8 first pass that
finds the few rows that can be the answer.

Exact similarities (`ExactRows`). The float32 gallery matrix is kept in blocks of BLOCK rows and
every similarity is computed block by block, one (BLOCK × D) · D product per block, whether the
whole gallery is scored or only the blocks of a few candidate rows. A row's score therefore does
not depend on which other rows were scored with it (one big matrix-vector product rounds a row
differently depending on where it falls in the product), so the int8 path and the brute-force
path give bit-identical distances (tests/hardware/test_face_search.py checks it). Ties are
broken by row (= person id order): the best k rows are the same set in the same order either way.

The int8 first pass (`Int8Index`, galleries of SMALL rows or more). A float32 gallery of
100,000 × 128 is 51 MB and a matrix-vector product over it is bound by memory (2–3 ms on the
2-core terminal). Its int8 copy is 12.8 MB, held as a constant of a one-node onnxruntime graph
(MatMulInteger): MLAS packs a constant weight matrix once, when the session is built, and then
reads it at memory speed (0.2–0.3 ms here; fed the same matrix as an input, it re-packs it on
every call: 1.6 ms). Rounding to int8 moves each similarity by at most `bound` (the two
roundings, as measured on the gallery and on the query, plus float32's own rounding), so every
row that can be among the exact k best has an int8 score within 2·bound of the k-th best int8
score; those few rows are scored again exactly. When the rounding cannot narrow the rows down
(a gallery of near duplicates), the whole gallery is scored exactly. The answer is always the
exact answer.
"""
from __future__ import annotations

import numpy as np

SMALL = 4_096       # rows; below this the exact product alone is as fast (~0.05 ms)
BLOCK = 16          # rows per exact block: few rows to copy per candidate, few calls per gallery
_UNIT = 2.0 ** -24  # float32 unit roundoff


class ExactRows:
    """A gallery matrix (rows of length `scale`) scored in float32, block by block."""

    def __init__(self, matrix: np.ndarray):
        self.rows, self.dimension = matrix.shape
        blocks = -(-self.rows // BLOCK)
        self.blocks = np.zeros((blocks, BLOCK, self.dimension), np.float32)
        self.view = self.blocks.reshape(-1, self.dimension)[:self.rows]     # the matrix, in the blocks
        self.view[:] = matrix

    def all(self, query: np.ndarray) -> np.ndarray:
        """Similarity of every row with `query` (float32, one per row)."""
        return (self.blocks @ query).reshape(-1)[:self.rows]

    def some(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Similarities of `rows` (sorted row numbers), bit-identical to `all(query)[rows]`."""
        block_of = rows // BLOCK
        needed = np.unique(block_of)
        sims = self.blocks[needed] @ query                  # (blocks, BLOCK): the same call per block
        return sims[np.searchsorted(needed, block_of), rows % BLOCK]


def best_k(rows: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest similarities, ties by lower row first: (rows, sims), best first."""
    k = min(k, len(sims))
    if k <= 0:
        return rows[:0], sims[:0]
    if len(sims) > k:
        kth = np.partition(sims, len(sims) - k)[len(sims) - k]
        keep = np.flatnonzero(sims >= kth)
        rows, sims = rows[keep], sims[keep]
    order = np.lexsort((rows, -sims))[:k]
    return rows[order], sims[order]


def _matmul_integer(weights: np.ndarray):  # noqa: ANN202 - onnxruntime.InferenceSession
    """One tiny ONNX graph with the int8 gallery as a constant: y[1, N] = (q[1, D] - 128) · w[D, N],
    uint8 × int8 -> int32."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    d, n = weights.shape
    q = helper.make_tensor_value_info("q", TensorProto.UINT8, [1, d])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [1, n])
    zero = helper.make_tensor("qz", TensorProto.UINT8, [], [128])
    node = helper.make_node("MatMulInteger", ["q", "w", "qz"], ["y"])
    constants = [zero, numpy_helper.from_array(weights, "w")]
    graph = helper.make_graph([node], "gallery_search", [q], [y], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1          # memory-bound: a second thread only waits
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class Int8Index:
    """The int8 copy of a gallery matrix (rows of equal length `scale`) in front of its exact rows."""

    def __init__(self, exact: ExactRows, matrix: np.ndarray, scale: float):
        self.exact = exact
        self.scale = scale
        self.rows, self.dimension = matrix.shape
        self.step = float(np.abs(matrix).max()) / 127 or 1.0
        weights = np.round(matrix / self.step).astype(np.int8)
        # The largest rounding error of any row, |M_i - M̂_i| (float64, and a hair of room for its own
        # rounding): typically √(D/12) steps, against the worst case √D/2.
        worst = 0.0
        for start in range(0, len(matrix), 8192):      # in slices: no 100 MB float64 copy at once
            error = matrix[start:start + 8192].astype(np.float64) - weights[start:start + 8192] * self.step
            worst = max(worst, float(np.einsum("ij,ij->i", error, error).max()))
        self.row_error = float(np.sqrt(worst)) * (1 + 1e-6)
        self._session = _matmul_integer(np.ascontiguousarray(weights.T))

    def approx(self, q8: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"q": q8})[0][0]

    def top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k rows most similar to `query` (length `scale`) and their exact similarities,
        best first (ties by lower row): the same as `best_k` over `exact.all(query)`."""
        n = self.rows
        k = min(k, n)
        if k <= 0:
            return np.zeros(0, np.intp), np.zeros(0, np.float32)
        q_step = float(np.abs(query).max()) / 127 or 1.0
        q_int = np.round(query / q_step)
        q8 = (q_int + 128).astype(np.uint8)[None, :]
        approx = self.approx(q8)       # int32, in units of step·q_step
        # |M_i·q - M̂_i·q̂| <= |M_i - M̂_i|·|q| + |M̂_i|·|q - q̂|, with |M̂_i| <= scale + row_error; and
        # the float32 exact score is within 1.01·D·u·scale² of M_i·q.
        q_error = float(np.linalg.norm(query.astype(np.float64) - q_int * q_step)) * (1 + 1e-6)
        bound = (self.row_error * self.scale + (self.scale + self.row_error) * q_error
                 + 1.01 * self.dimension * _UNIT * self.scale * self.scale)
        slack = 2 * (int(np.ceil(bound / (self.step * q_step))) + 1)
        rows = self._candidates(approx, k, slack)
        if len(rows) > n // 8:          # rounding did not narrow it down: score everything
            return best_k(np.arange(n), self.exact.all(query), k)
        return best_k(rows, self.exact.some(rows, query), k)

    @staticmethod
    def _candidates(approx: np.ndarray, k: int, slack: int) -> np.ndarray:
        """Sorted rows whose int8 score is within `slack` of the k-th best int8 score."""
        # The k-th best of an evenly spaced sample is at most the k-th best of all, so the rows at or
        # above it hold the k best (and a few hundred more): no pass over all rows to rank them.
        sample = approx[::max(1, len(approx) // 1024)]
        cutoff = int(np.partition(sample, len(sample) - k)[len(sample) - k])
        near = np.flatnonzero(approx >= cutoff)
        kth = int(np.partition(approx[near], len(near) - k)[len(near) - k])
        if kth - slack >= cutoff:
            return near[approx[near] >= kth - slack]
        return np.flatnonzero(approx >= kth - slack)
