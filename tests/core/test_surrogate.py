"""matterstack.ai.surrogate: the 0.2.x surrogate interface and its random baseline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.ai.surrogate import RandomSurrogate, Surrogate

rows = st.lists(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=3), max_size=20)


@given(X=rows, seed=st.integers())
def test_random_surrogate_predicts_one_number_in_0_1_per_row(X, seed):
    model = RandomSurrogate(seed=seed)
    model.fit(X, [0.0] * len(X))

    predictions = model.predict(X)

    assert len(predictions) == len(X)
    assert all(0.0 <= p < 1.0 for p in predictions)


@given(X=rows)
def test_the_same_seed_gives_the_same_predictions(X):
    first, second = RandomSurrogate(seed=3), RandomSurrogate(seed=3)
    first.fit([], [])
    second.fit([], [])

    assert first.predict(X) == second.predict(X)


def test_the_default_seed_is_42_as_in_0_2_x():
    model = RandomSurrogate()
    model.fit([[1.0]], [1.0])

    assert model.seed == 42
    assert model.predict([[0.0], [1.0]]) == pytest.approx([0.6394267984578837, 0.025010755222666936])


def test_predicting_before_fitting_raises_the_0_2_x_error():
    with pytest.raises(RuntimeError, match="Model must be fitted before prediction."):
        RandomSurrogate().predict([[1.0]])


def test_a_campaign_can_bring_its_own_surrogate():
    class Mean(Surrogate):
        def fit(self, X, y):
            self.mean = sum(y) / len(y)

        def predict(self, X):
            return [self.mean] * len(X)

    model = Mean()
    model.fit([[0.0], [1.0]], [1.0, 3.0])

    assert model.predict([[5.0]]) == [2.0]
    with pytest.raises(TypeError):
        Surrogate()
