"""A tiny, exact test detector (pure numpy), so the ensemble tests do not depend on the
compiled detectors: score = Euclidean distance to the running mean of the points learned."""

import numpy as np

from sead.base import Detector


class RunningMeanDistance(Detector):
    """Distance to the running mean; ``offset`` shifts the scores (another scale)."""

    def __init__(self, offset: float = 0.0, power: float = 1.0):
        self.offset = offset
        self.power = power

    def _init_state(self, schema):
        self.sum_ = np.zeros(schema.n_features)
        self.n_ = 0

    def _score_rows(self, X):
        if self.n_ == 0:
            return np.full(X.shape[0], self.offset)
        mean = self.sum_ / self.n_
        return self.offset + np.linalg.norm(X - mean, axis=1) ** self.power

    def _learn_rows(self, X):
        for row in X:
            self.sum_ += row
            self.n_ += 1
