"""The 1:N search for big galleries: an int8 first pass, then exact float32 for the few rows that
can be the answer.

A float32 gallery of 100,000 × 128 is 51 MB; a matrix-vector product over it is bound by memory
(3 ms of CPU on the 2-core terminal). Its int8 copy is 12.8 MB, and onnxruntime's MatMulInteger
(MLAS) reads it in about half a millisecond. Rounding to int8 moves each similarity by at most
`bound` (computed from the two rounding steps, below), so the true k best rows are all among the
rows whose int8 score is within 2·bound of the k-th best int8 score; those few rows are scored
again exactly. The answer is therefore exactly the float32 answer, never an approximation.

Galleries below SMALL rows are searched in float32 directly (fast enough, nothing to build).
"""
from __future__ import annotations

import threading

import numpy as np

SMALL = 20_000
_session = None
_lock = threading.Lock()


def _matmul_integer():  # noqa: ANN202 - onnxruntime.InferenceSession
    """One tiny ONNX graph: y[1, N] = (q[1, D] - 128) · w[D, N], uint8 × int8 -> int32."""
    global _session
    with _lock:
        if _session is None:
            import onnxruntime as ort
            from onnx import TensorProto, helper

            q = helper.make_tensor_value_info("q", TensorProto.UINT8, [1, "D"])
            w = helper.make_tensor_value_info("w", TensorProto.INT8, ["D", "N"])
            y = helper.make_tensor_value_info("y", TensorProto.INT32, [1, "N"])
            zero = helper.make_tensor("qz", TensorProto.UINT8, [], [128])
            node = helper.make_node("MatMulInteger", ["q", "w", "qz"], ["y"])
            graph = helper.make_graph([node], "gallery_search", [q, w], [y], [zero])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1          # memory-bound: a second thread only waits
            options.log_severity_level = 3
            _session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return _session


class Int8Index:
    """The int8 copy of a gallery matrix (rows of equal length `scale`)."""

    def __init__(self, matrix: np.ndarray, scale: float):
        self.matrix = matrix
        self.scale = scale
        self.step = float(np.abs(matrix).max()) / 127 if matrix.size else 1.0
        self.weights = np.ascontiguousarray(np.round(matrix / self.step).astype(np.int8).T)   # (D, N)
        self.dimension = matrix.shape[1]

    def top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k rows most similar to `query` (length `scale`) and their exact similarities,
        best first."""
        n = self.matrix.shape[0]
        k = min(k, n)
        q_step = float(np.abs(query).max()) / 127 or 1.0
        q8 = (np.round(query / q_step) + 128).astype(np.uint8)[None, :]
        approx = _matmul_integer().run(None, {"q": q8, "w": self.weights})[0][0]       # int32, units step·q_step
        # |exact - approx·step·q_step| <= |ΔM|·|q| + |M̂|·|Δq|, each Δ at most half a step per number
        half = 0.5 * np.sqrt(self.dimension)
        bound = half * self.step * self.scale + (self.scale + half * self.step) * half * q_step
        bound_units = int(np.ceil(bound / (self.step * q_step))) + 1
        picked = []
        work = approx.copy()
        for _ in range(k):
            i = int(np.argmax(work))
            picked.append(i)
            work[i] = np.iinfo(np.int32).min
        kth = int(approx[picked[-1]])
        rows = np.union1d(np.flatnonzero(approx >= kth - 2 * bound_units), picked)
        exact = self.matrix[rows] @ query
        order = np.argsort(-exact)[:k]
        return rows[order], exact[order]
