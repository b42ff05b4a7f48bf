"""Hostile inputs to the audit's input step and the table loader (issue 21: 1, 14, 18, 19, 20)."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError
from assay.audit import Audit
from assay.data_checks import bin_by_quantiles
from assay.io import load_table

_RNG = np.random.default_rng(3)
_N = 200
_FRAME = pd.DataFrame({"x1": _RNG.normal(size=_N), "x2": _RNG.normal(size=_N),
                       "sex": _RNG.choice(["F", "M"], _N), "age": _RNG.integers(18, 90, _N),
                       "label": _RNG.integers(0, 2, _N)})
_UNAWARE = LogisticRegression().fit(_FRAME[["x1", "x2"]], _FRAME["label"])
_YES_NO = _FRAME.assign(label=np.where(_FRAME["label"] == 1, "yes", "no"))


def _audit(data=None, **kwargs):
    kwargs.setdefault("target", "label")
    kwargs.setdefault("progress", False)
    return Audit(kwargs.pop("model", _UNAWARE), data or {"train": _FRAME, "test": _FRAME}, **kwargs).run()


_TMP = tempfile.TemporaryDirectory(prefix="assay_hostile_")  # removed when the test process ends


def _csv():
    """A CSV file of the data without the model's column x2."""
    path = Path(_TMP.name) / "no_x2.csv"
    _FRAME.drop(columns=["x2"]).to_csv(path, index=False)
    return path


CASES = [
    pytest.param(lambda: _audit({"train": _FRAME, "test": _YES_NO}),
                 ["'label'", "data['test']", "[0, 1]", "'no'", "map {'no': 0, 'yes': 1}"],
                 id="Audit: target coded yes/no for a model with classes 0/1"),
    pytest.param(lambda: _audit({"test": _FRAME.assign(label=_FRAME["label"] + 1)}),
                 ["'label'", "[0, 1]", "[2]", "Labels found: [1, 2]"],
                 id="Audit: labels 1/2 for a model with classes 0/1"),
    pytest.param(lambda: _audit(target="lable"), ["'target' 'lable'", "Did you mean 'label'?", "'age'"],
                 id="Audit: misspelt target"),
    pytest.param(lambda: _audit(target=["label"]), ["'target'", "a list"], id="Audit: target not a str"),
    pytest.param(lambda: _audit(sensitive_features="sex,agee"), ["['agee']", "Did you mean 'age'?"],
                 id="Audit: comma-joined sensitive_features with a misspelt column"),
    pytest.param(lambda: _audit(sensitive_features=["sex"], features=["x1", "x2", "sex"]),
                 ["'features'", "did not expect ['sex']"], id="Audit: features the unaware model was not fitted on"),
    pytest.param(lambda: _audit(features=["x1"]), ["'features'", "lacks ['x2']"],
                 id="Audit: features missing a column the model was fitted on"),
    pytest.param(lambda: _audit({"test": _FRAME, "ood:far": _FRAME.drop(columns=["x2", "label"])}),
                 ["data['ood:far']", "['x2']"], id="Audit: OOD split without a column of the model"),
    pytest.param(lambda: _audit(sensitive_features="age"), ["'age'", "distinct values", "bin_sensitive"],
                 id="Audit: continuous sensitive feature"),
    pytest.param(lambda: _audit(sensitive_features="age", bin_sensitive=0.5), ["'bin_sensitive'"],
                 id="Audit: bin_sensitive not an int >= 2"),
    pytest.param(lambda: bin_by_quantiles([1.0, np.nan, 3.0], 2), ["'values'", "numbers"],
                 id="bin_by_quantiles: missing values"),
    pytest.param(lambda: load_table(_csv(), target="label", features=["x1", "x2"]),
                 ["--data", "lacks the column(s) ['x2']"], id="load_table: file without a column of the model"),
    pytest.param(lambda: load_table(_csv(), target="lable"), ["--target", "Did you mean 'label'?"],
                 id="load_table: misspelt target"),
]


@pytest.mark.parametrize("call, words", CASES)
def test_refused_iohard(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_an_unaware_model_runs_with_a_sensitive_column_it_was_not_fitted_on():
    result = _audit(sensitive_features="sex")
    assert all(r["status"] == "ok" for r in result.records.values())
