"""The base class of the quantile references: input checks, lazy allocation, reference sizes."""

from __future__ import annotations

import numpy as np

__all__ = ["QuantileReference"]


class QuantileReference:
    """Base of the references: validates ``R``, allocates state lazily for ``K`` columns."""

    def _alloc(self, K: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, R: np.ndarray, Z: np.ndarray, update: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def get_params(self) -> dict:
        import inspect

        return {k: getattr(self, k) for k in inspect.signature(type(self).__init__).parameters if k != "self"}

    def clone(self):
        """A fresh reference with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def n_columns_(self) -> int:
        return self.K_

    def _check(self, R) -> np.ndarray:
        R = np.ascontiguousarray(R, dtype=np.float64)
        if R.ndim != 2:
            raise ValueError(f"expected an (n, K) matrix of raw scores, got shape {R.shape}")
        if np.isinf(R).any():
            i, k = np.argwhere(np.isinf(R))[0]
            raise ValueError(f"raw score R[{i}, {k}] = {R[i, k]} is infinite; scores must be finite")
        if getattr(self, "K_", None) is None:
            self._alloc(R.shape[1])
            self.K_ = R.shape[1]
        elif R.shape[1] != self.K_:
            raise ValueError(f"expected {self.K_} score columns (fixed at the first call), got {R.shape[1]}")
        return R

    def _sizes(self) -> np.ndarray:  # pragma: no cover - abstract
        """Scores currently in each column's reference (float array of length K)."""
        raise NotImplementedError

    def _sizes_for(self, R: np.ndarray, update: bool) -> np.ndarray:
        """The reference size each entry of R is normalised against (before the kernel runs)."""
        base = self._sizes()
        if not update:
            return np.broadcast_to(base, R.shape).copy()
        obs = ~np.isnan(R)
        n = base + np.cumsum(obs, axis=0) - obs
        cap = self._capacity()
        return n if cap is None else np.minimum(n, cap)

    def _capacity(self):
        """The most scores a column's reference holds (None = unbounded)."""
        return None

    def fresh_sizes(self, R) -> np.ndarray:
        """The reference sizes ``transform_update(R, return_sizes=True)`` reports on a *fresh*
        reference, without running it (they depend only on which entries are NaN)."""
        R = np.asarray(R, dtype=np.float64)
        obs = ~np.isnan(R)
        n = (np.cumsum(obs, axis=0) - obs).astype(np.float64)
        cap = self._capacity()
        return n if cap is None else np.minimum(n, cap)

    def transform(self, R, *, return_sizes: bool = False):
        """Normalise every row of ``R`` against the current reference; changes no state.

        With ``return_sizes=True`` also return, per entry, how many scores the reference held
        (used for tail p-values, see :func:`tail_surprise`).
        """
        R = self._check(R)
        Z = np.empty_like(R)
        N = self._sizes_for(R, False) if return_sizes else None
        self._run(R, Z, False)
        return (Z, N) if return_sizes else Z

    def transform_update(self, R, *, return_sizes: bool = False):
        """Prequential: normalise row *t*, then insert it into the reference, for every *t*."""
        R = self._check(R)
        Z = np.empty_like(R)
        N = self._sizes_for(R, True) if return_sizes else None
        self._run(R, Z, True)
        return (Z, N) if return_sizes else Z

    def update(self, R) -> None:
        """Insert the rows of ``R`` into the reference."""
        self.transform_update(R)
