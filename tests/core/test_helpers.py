"""The shared helpers: one copy each (softmax, one-logit expansion, bool check, stack level, seed alias)."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy.special import softmax as scipy_softmax

from assay import AssayInputError
from assay.core.errors import outside_stacklevel
from assay.core.numeric import binary_logit_to_two, softmax
from assay.core.validation import SEED_NOT_GIVEN, check_bool, renamed_seed


def test_softmax_equals_scipy_and_is_a_new_float64_array():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]], dtype=np.float32)
    p = softmax(z)
    assert p.dtype == np.float64 and p is not z
    assert_allclose(p, scipy_softmax(z.astype(np.float64), axis=1), rtol=1e-12)


def test_binary_logit_to_two_numpy_and_torch():
    d = np.array([0.0, 2.0, -4.0])
    two = binary_logit_to_two(d)
    assert_allclose(two, [[0, 0], [-1, 1], [2, -2]])
    assert_allclose(softmax(two)[:, 1], 1 / (1 + np.exp(-d)))
    assert binary_logit_to_two(np.ones((3, 2))).shape == (3, 2)
    t = torch.tensor([[2.0], [-4.0]], requires_grad=True)
    out = binary_logit_to_two(t)
    out[:, 1].sum().backward()
    assert_allclose(out.detach().numpy(), [[-1, 1], [2, -2]])
    assert_allclose(t.grad.numpy(), [[0.5], [0.5]])


def test_check_bool():
    assert check_bool(np.bool_(True), "flag", owner="f") is True
    assert check_bool(None, "flag", owner="f", allow_none=True) is None
    with pytest.raises(AssayInputError, match="The 'flag' parameter of f must be a bool. Got 1 instead."):
        check_bool(1, "flag", owner="f")
    with pytest.raises(AssayInputError, match="must be None, True or False. Got 'yes'"):
        check_bool("yes", "flag", owner="f", allow_none=True)


def _public(random_state=0, seed=SEED_NOT_GIVEN):
    return renamed_seed(random_state, seed, owner="_public")


def test_seed_alias_warns_at_the_callers_line():
    assert _public(random_state=3) == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _public(seed=5) == 5
    assert len(caught) == 1 and caught[0].category is FutureWarning
    assert "'seed' parameter of _public is deprecated" in str(caught[0].message)
    # attributed to the first frame outside the package: this test file
    assert caught[0].filename == __file__


def test_outside_stacklevel_counts_package_frames():
    assert outside_stacklevel() == 1  # called from outside the package
