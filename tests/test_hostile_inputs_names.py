"""Bad input to the renamed parameters (random_state, confidence_level): refused, named."""

import numpy as np
import pytest

import assay.fairness as af
from assay import AssayInputError
from assay.audit import Audit
from assay.datasets import load_german_credit
from assay.metrics import evaluate_groups
from assay.metrics.intervals import wilson_interval

Y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
G = np.array(["a", "a", "b", "b", "a", "b", "a", "b"])

CASES = [
    pytest.param(lambda: Audit(None, {}, random_state=1, seed=2), ["'seed'", "'random_state'", "both"],
                 id="Audit: seed and random_state both"),
    pytest.param(lambda: load_german_credit(random_state=None, seed=2), ["'seed'", "random_state=None"],
                 id="load_german_credit: seed beside random_state=None"),
    pytest.param(lambda: af.fairness_report(Y, Y, sensitive_features=G, random_state=0, seed=0),
                 ["'seed'", "'random_state'"], id="fairness_report: seed and random_state both"),
    pytest.param(lambda: evaluate_groups(Y, Y, sensitive_features=G, confidence_level=0.9, ci_level=0.8),
                 ["'ci_level'", "'confidence_level'", "confidence_level=0.9"],
                 id="evaluate_groups: ci_level and confidence_level both"),
    pytest.param(lambda: evaluate_groups(Y, Y, sensitive_features=G, n_boot=5, confidence_level=1.5),
                 ["'confidence_level'", "evaluate_groups", "1.5"], id="evaluate_groups: confidence_level 1.5"),
    pytest.param(lambda: af.two_proportion_test(1, 2, 1, 2, confidence_level=0.9, confidence=0.9),
                 ["'confidence'", "'confidence_level'"], id="two_proportion_test: confidence and confidence_level"),
    pytest.param(lambda: wilson_interval(1, 2, confidence_level="0.9"), ["'confidence_level'", "wilson_interval"],
                 id="wilson_interval: confidence_level a str"),
    pytest.param(lambda: Audit(None, {"test": (np.zeros((2, 1)), None)}, random_state=-1).run(),
                 ["'random_state'", "Audit", "-1"], id="Audit: negative random_state"),
]


@pytest.mark.parametrize("call, words", CASES)
def test_refused_names(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)
