"""Hostile inputs to the audit frame: thresholds, check parameters, run directories, audits that judge nothing."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError
from assay.audit import Audit, Check, StaleRecordWarning, Threshold, register_check, register_need

_rng = np.random.default_rng(0)
_X = pd.DataFrame({"x1": _rng.normal(size=400), "x2": _rng.normal(size=400)})
_y = (_X["x1"] + _rng.normal(size=400) > 0).astype(int)
_MODEL = LogisticRegression().fit(_X, _y)
_FRAME = _X.assign(label=_y, sex=np.where(_rng.random(400) < 0.5, "F", "M"))
_SPLITS = {"train": (_X[:200], _y[:200]), "test": (_X[200:], _y[200:])}


def _audit(**kwargs):
    return Audit(_MODEL, _SPLITS, checks=["calibration"], progress=False, **kwargs).run()


CASES = [
    pytest.param(lambda: _audit(thresholds={"ece_warn": float("nan")}), ["ece_warn", "finite", "nan"],
                 id="Audit: NaN threshold"),
    pytest.param(lambda: _audit(thresholds={"ece_fail": float("inf")}), ["ece_fail", "finite", "inf"],
                 id="Audit: infinite threshold"),
    pytest.param(lambda: _audit(thresholds={"ece_warn": "x"}), ["ece_warn", "'x'"], id="Audit: threshold not a number"),
    pytest.param(lambda: _audit(thresholds={"ece_warn": True}), ["ece_warn", "True"], id="Audit: threshold a bool"),
    pytest.param(lambda: _audit(thresholds={"ece_warn": 1.5}), ["ece_warn", "[0, 1]", "1.5"],
                 id="Audit: rate threshold above 1"),
    pytest.param(lambda: _audit(thresholds={"demographic_parity_ratio_warn": -0.1}),
                 ["demographic_parity_ratio_warn", "[0, 1]"], id="Audit: ratio threshold below 0"),
    pytest.param(lambda: _audit(thresholds={"ece_warn": 0.2, "ece_fail": 0.1}), ["ece_fail", "ece_warn", "above"],
                 id="Audit: lower-is-better fail below warn"),
    pytest.param(lambda: _audit(thresholds={"ece_fail": 0.01}), ["ece_fail", "ece_warn", "0.05"],
                 id="Audit: fail override inconsistent with the default warn"),
    pytest.param(lambda: _audit(thresholds={"demographic_parity_ratio_fail": 0.9}),
                 ["demographic_parity_ratio_fail", "demographic_parity_ratio_warn", "below"],
                 id="Audit: higher-is-better fail above warn"),
    pytest.param(lambda: _audit(thresholds={"leakage_auc_fail": 0.85}), ["leakage_auc_fail", "leakage_auc"],
                 id="Audit: data-check fail pair inconsistent"),
    pytest.param(lambda: _audit(thresholds={"min_group_size": 2.5}), ["min_group_size", "an int"],
                 id="Audit: integer threshold given a fraction"),
    pytest.param(lambda: _audit(thresholds={"ece": 0.1}), ["unknown", "'ece'", "ece_warn", "imbalance_ratio"],
                 id="Audit: unknown threshold key lists the known ones"),
    pytest.param(lambda: _audit(thresholds=[("ece_warn", 0.1)]), ["'thresholds'", "dict"],
                 id="Audit: thresholds not a mapping"),
    pytest.param(lambda: Audit(_MODEL, _SPLITS, check_params={"nope": {}}).run(), ["check_params", "nope"],
                 id="Audit: check_params for an unknown check"),
    pytest.param(lambda: Audit(_MODEL, _SPLITS, check_params={"calibration": {"bins": 3}}).run(),
                 ["check_params", "calibration", "bins", "n_bins"], id="Audit: check_params unknown parameter"),
    pytest.param(lambda: Audit(_MODEL, _SPLITS, check_params={"calibration": 3}).run(),
                 ["check_params", "dict"], id="Audit: check_params not a dict of dicts"),
    pytest.param(lambda: Audit(_MODEL, {"train": _FRAME, "test": _FRAME}, progress=False).run(),
                 ["No check can run", "calibration", "labels", "target="], id="Audit: forgot target, nothing runs"),
    pytest.param(lambda: Audit(None, {"test": (_X, None)}, progress=False).run(),
                 ["No check can run", "needs"], id="Audit: no model and no labels, nothing runs"),
]


@pytest.mark.parametrize("call, words", CASES)
def test_refused_auditcore(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_register_check_refuses_bad_declarations():
    class BadThreshold(Check):
        name = "bad_threshold"
        thresholds = {"x_warn": 0.1}

    with pytest.raises(AssayInputError, match="'thresholds' must map each key to an assay.audit.Threshold"):
        register_check(BadThreshold)

    class OutOfRange(Check):
        name = "out_of_range"
        thresholds = {"y_warn": Threshold(2.0, "a rate", low=0.0, high=1.0)}

    with pytest.raises(AssayInputError, match="'y_warn'"):
        register_check(OutOfRange)

    class Clash(Check):
        name = "clash"
        thresholds = {"ece_warn": Threshold(0.3, "something else")}

    with pytest.raises(AssayInputError, match="'ece_warn'.*calibration"):
        register_check(Clash)
    with pytest.raises(AssayInputError, match="identifier"):
        register_need("split val", lambda c, a: True)


def _run(run_dir, resume=True):
    return Audit(_MODEL, _SPLITS, checks=["calibration", "training_data"], progress=False).run(run_dir, resume=resume)


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda p: p.write_text('{"name": "calibration", "status": "ok", "summ'), id="truncated JSON"),
    pytest.param(lambda p: p.write_text("[1, 2, 3]"), id="a list"),
    pytest.param(lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "summary": None})),
                 id="ok without summary"),
    pytest.param(lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items()
                                                    if k != "result"})), id="ok without result"),
    pytest.param(lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "name": "fairness"})),
                 id="another check's name"),
    pytest.param(lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), id="not text"),
    pytest.param(lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "summary": {"ece": 0.1}})),
                 id="ok with a summary missing its keys"),
])
def test_tampered_record_is_recomputed_with_a_warning(tmp_path, tamper):
    first = _run(tmp_path)
    path = tmp_path / "checks" / "calibration.json"
    tamper(path)
    with pytest.warns(StaleRecordWarning, match="calibration.*run again"):
        second = _run(tmp_path)
    assert second.computed == ("calibration",) and second.resumed == ("training_data",)
    assert second.records["calibration"]["summary"] == first.records["calibration"]["summary"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third = _run(tmp_path)  # rewritten: resumes cleanly
    assert third.computed == ()


@pytest.mark.parametrize("content", ["{not json", "[]", '{"config": 3}', ""])
def test_broken_manifest_is_one_clear_error(tmp_path, content):
    _run(tmp_path)
    (tmp_path / "audit.json").write_text(content)
    with pytest.raises(AssayInputError) as info:
        _run(tmp_path)
    message = str(info.value)
    assert "audit.json" in message and "resume=False" in message and "--no-resume" in message


def test_broken_manifest_start_over(tmp_path):
    _run(tmp_path)
    (tmp_path / "audit.json").write_text("{not json")
    assert set(_run(tmp_path, resume=False).computed) == {"training_data", "calibration"}
    assert _run(tmp_path).computed == ()
