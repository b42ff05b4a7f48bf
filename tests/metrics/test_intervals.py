"""wilson_interval: hand-computed cases and scipy's binomtest on the same counts."""

import numpy as np
import pytest
from scipy.stats import binomtest

from assay import AssayInputError
from assay.metrics import wilson_interval


def test_hand_cases():
    lower, upper = wilson_interval([0, 5], [10, 10])
    # 0/10: [0, z^2/n / (1 + z^2/n)] = [0, 0.27753]; 5/10: 0.5 -/+ 0.26340
    np.testing.assert_allclose(lower, [0.0, 0.236593], atol=1e-5)
    np.testing.assert_allclose(upper, [0.277533, 0.763407], atol=1e-5)


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_equals_scipy_binomtest(confidence):
    k = np.array([0, 1, 3, 17, 50, 99, 100])
    n = np.array([1, 2, 10, 40, 100, 100, 100])
    lower, upper = wilson_interval(k, n, confidence_level=confidence)
    for i in range(len(k)):
        ci = binomtest(int(k[i]), int(n[i])).proportion_ci(confidence_level=confidence, method="wilson")
        assert lower[i] == pytest.approx(ci.low, abs=1e-12) and upper[i] == pytest.approx(ci.high, abs=1e-12)


def test_empty_trials_are_nan_and_bad_counts_raise():
    lower, upper = wilson_interval([0, 1], [0, 2])
    assert np.isnan(lower[0]) and np.isnan(upper[0]) and 0 < lower[1] < 0.5 < upper[1] < 1
    with pytest.raises(AssayInputError, match="0 <= successes <= n"):
        wilson_interval(3, 2)
    with pytest.raises(AssayInputError, match="0 <= successes <= n"):
        wilson_interval(-1, 2)
    with pytest.raises(AssayInputError, match="'confidence_level'"):
        wilson_interval(1, 2, confidence_level=1.0)
