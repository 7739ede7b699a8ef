"""Surrogate models: fit on what was measured, predict what was not.

The interface and ``RandomSurrogate`` are those of MatterStack 0.2.x, in plain Python (lists
of floats, no numpy): a campaign chooses candidates with them, and any model offering
``fit(X, y)`` / ``predict(X)`` can take their place.
"""

from __future__ import annotations

import abc
import random

Matrix = list[list[float]]
"""Input features, one row per sample: ``n_samples × n_features``."""
Vector = list[float]
"""One value per sample."""


class Surrogate(abc.ABC):
    """A model a campaign trains on measured samples and asks about untried ones."""

    @abc.abstractmethod
    def fit(self, X: Matrix, y: Vector) -> None:
        """Train on the rows of ``X`` and their measured values ``y``."""

    @abc.abstractmethod
    def predict(self, X: Matrix) -> Vector:
        """One predicted value per row of ``X``."""


class RandomSurrogate(Surrogate):
    """Predicts a uniform random number in [0, 1) per sample: a baseline, and a stand-in
    while a campaign's plumbing is being tested.

    Predictions come from ``random.Random(seed)``, so the same seed and the same calls give
    the same numbers (as in 0.2.x, where the default seed was 42).
    """

    def __init__(self, seed: int = 42):
        self.seed = seed
        self.rng = random.Random(seed)
        self.fitted = False

    def fit(self, X: Matrix, y: Vector) -> None:
        """Learns nothing; marks the model fitted, which ``predict`` requires."""
        self.fitted = True

    def predict(self, X: Matrix) -> Vector:
        """One random number per row of ``X``; RuntimeError before :meth:`fit`, as in 0.2.x."""
        if not self.fitted:
            raise RuntimeError("Model must be fitted before prediction.")
        return [self.rng.random() for _ in range(len(X))]
