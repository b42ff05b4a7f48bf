"""The hostile-input suite: for each public entry point, the bad inputs it must refuse and the words its
message must contain.

Each section lists its cases as ``pytest.param(call, words, id=...)`` in a ``CASES_<AREA>`` list; one test
runs them all (``test_refused``): ``call()`` must raise :class:`assay.AssayInputError` whose message holds every
word. Cases that are not "raise with these words" (a warning, a one-line CLI error, a run that must succeed)
are test functions of their section. A capability issue extends this module with its own section."""

import copy
import inspect
import json
import pickle
import subprocess
import sys
import tempfile
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import assay
import assay.fairness as af
from assay import AssayInputError
from assay.audit import Audit, Check, StaleRecordWarning, Threshold, register_check, register_need
from assay.audit.base import CHECKS, registered_checks
from assay.audit.documents import (audit_record, check_record, model_card_markdown, read_card_sections,
                                   render_audit_html, write_audit_report)
from assay.cli import _fails, _threshold_keys, cli_message, main
from assay.core.validation import check_sensitive_features
from assay.data_checks import bin_by_quantiles
from assay.datasets import load_german_credit
from assay.io import load_table
from assay.metrics import GroupedStats, evaluate_groups, evaluate_groups_batches
from assay.metrics.intervals import wilson_interval
from assay.ood import GEN, KNN, ODIN, Energy, GaussianMixtureDetector, IsolationForestDetector, Mahalanobis, ReAct
from assay.ood.groups import rejection_by_group
from assay.report import plot_coverage_curve, plot_embedding_projection
from assay.uncertainty import ConformalClassifier, ConformalRegressor, conformal_report


# --- The audit frame: thresholds, check parameters, run directories, audits that judge nothing ---------------------

_rng = np.random.default_rng(0)
_X = pd.DataFrame({"x1": _rng.normal(size=400), "x2": _rng.normal(size=400)})
_y = (_X["x1"] + _rng.normal(size=400) > 0).astype(int)
_MODEL = LogisticRegression().fit(_X, _y)
_AUDIT_FRAME = _X.assign(label=_y, sex=np.where(_rng.random(400) < 0.5, "F", "M"))
_SPLITS = {"train": (_X[:200], _y[:200]), "test": (_X[200:], _y[200:])}


def _audit_calibration(**kwargs):
    return Audit(_MODEL, _SPLITS, checks=["calibration"], progress=False, **kwargs).run()


CASES_AUDIT = [
    pytest.param(lambda: _audit_calibration(thresholds={"ece_warn": float("nan")}), ["ece_warn", "finite", "nan"],
                 id="Audit: NaN threshold"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece_fail": float("inf")}), ["ece_fail", "finite", "inf"],
                 id="Audit: infinite threshold"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece_warn": "x"}), ["ece_warn", "'x'"], id="Audit: threshold not a number"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece_warn": True}), ["ece_warn", "True"], id="Audit: threshold a bool"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece_warn": 1.5}), ["ece_warn", "[0, 1]", "1.5"],
                 id="Audit: rate threshold above 1"),
    pytest.param(lambda: _audit_calibration(thresholds={"demographic_parity_ratio_warn": -0.1}),
                 ["demographic_parity_ratio_warn", "[0, 1]"], id="Audit: ratio threshold below 0"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece_warn": 0.2, "ece_fail": 0.1}), ["ece_fail", "ece_warn", "above"],
                 id="Audit: lower-is-better fail below warn"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece_fail": 0.01}), ["ece_fail", "ece_warn", "0.05"],
                 id="Audit: fail override inconsistent with the default warn"),
    pytest.param(lambda: _audit_calibration(thresholds={"demographic_parity_ratio_fail": 0.9}),
                 ["demographic_parity_ratio_fail", "demographic_parity_ratio_warn", "below"],
                 id="Audit: higher-is-better fail above warn"),
    pytest.param(lambda: _audit_calibration(thresholds={"leakage_auc_fail": 0.85}), ["leakage_auc_fail", "leakage_auc"],
                 id="Audit: data-check fail pair inconsistent"),
    pytest.param(lambda: _audit_calibration(thresholds={"min_group_size": 2.5}), ["min_group_size", "an int"],
                 id="Audit: integer threshold given a fraction"),
    pytest.param(lambda: _audit_calibration(thresholds={"ece": 0.1}), ["unknown", "'ece'", "ece_warn", "imbalance_ratio"],
                 id="Audit: unknown threshold key lists the known ones"),
    pytest.param(lambda: _audit_calibration(thresholds=[("ece_warn", 0.1)]), ["'thresholds'", "dict"],
                 id="Audit: thresholds not a mapping"),
    pytest.param(lambda: Audit(_MODEL, _SPLITS, check_params={"nope": {}}).run(), ["check_params", "nope"],
                 id="Audit: check_params for an unknown check"),
    pytest.param(lambda: Audit(_MODEL, _SPLITS, check_params={"calibration": {"bins": 3}}).run(),
                 ["check_params", "calibration", "bins", "n_bins"], id="Audit: check_params unknown parameter"),
    pytest.param(lambda: Audit(_MODEL, _SPLITS, check_params={"calibration": 3}).run(),
                 ["check_params", "dict"], id="Audit: check_params not a dict of dicts"),
    pytest.param(lambda: Audit(_MODEL, {"train": _AUDIT_FRAME, "test": _AUDIT_FRAME}, progress=False).run(),
                 ["No check can run", "calibration", "labels", "target="], id="Audit: forgot target, nothing runs"),
    pytest.param(lambda: Audit(None, {"test": (_X, None)}, progress=False).run(),
                 ["No check can run", "needs"], id="Audit: no model and no labels, nothing runs"),
]




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

    class BadAdvice(Check):
        name = "bad_advice"
        advice = {"x": ["not", "a", "line"]}

    with pytest.raises(AssayInputError, match="'advice' must map finding metric names to one line"):
        register_check(BadAdvice)


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


# --- Components and the model adapter: model outputs, detector parameters, model files -----------------------------

X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)


class Returns(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.lin(x))


class DuckClassifier:
    """Duck-typed scikit-learn classifier (fit + predict_proba) whose output is broken."""

    def __init__(self, proba):
        self.proba = proba

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return self.proba(X)


def torch_proba(fn, **kw):
    return lambda: assay.wrap(Returns(fn), **kw).predict_proba(X)


def sk_proba(fn):
    return lambda: assay.wrap(DuckClassifier(fn)).predict_proba(X)


def call_proba(fn):
    return lambda: assay.wrap(fn).predict_proba(X)


CASES_COMPONENTS = [
    # ---- model outputs (issue 21 items 3 and 5), whatever the model kind
    pytest.param(torch_proba(lambda z: z.sum()), ["model output", "one row per input row", "10", "()"],
                 id="wrap(torch).predict_proba: one number per batch"),
    pytest.param(torch_proba(lambda z: z.sum().reshape(1)), ["model output", "10", "(1,)", "whole batch"],
                 id="wrap(torch).predict_proba: one value of shape (1,) per batch"),
    pytest.param(torch_proba(lambda z: z[:-1]), ["model output", "10", "(9, 2)"],
                 id="wrap(torch).predict_proba: n - 1 rows"),
    pytest.param(torch_proba(lambda z: z[:-1], batch_size=4), ["model output", "4", "(3, 2)"],
                 id="wrap(torch, batch_size=4).predict_proba: n - 1 rows per batch"),
    pytest.param(torch_proba(lambda z: z[:, :, None]), ["model output", "(n,) or (n, k)", "(10, 2, 1)"],
                 id="wrap(torch).predict_proba: 3-D output"),
    pytest.param(torch_proba(lambda z: torch.complex(z, z)), ["model output", "real numeric", "complex"],
                 id="wrap(torch).predict_proba: complex output"),
    pytest.param(torch_proba(lambda z: z / 0 * 0), ["model output", "NaN or infinite"],
                 id="wrap(torch).predict_proba: NaN output"),
    pytest.param(sk_proba(lambda X: np.full((len(X) - 1, 2), 0.5)), ["model output", "10", "(9, 2)"],
                 id="wrap(duck sklearn).predict_proba: n - 1 rows"),
    pytest.param(sk_proba(lambda X: np.array(["yes"] * len(X))), ["model output", "numeric", "<U3"],
                 id="wrap(duck sklearn).predict_proba: strings"),
    pytest.param(sk_proba(lambda X: 0.5), ["model output", "one row per input row", "()"],
                 id="wrap(duck sklearn).predict_proba: a scalar"),
    pytest.param(call_proba(lambda b: ["yes"] * len(b)), ["model output", "numeric", "<U3"],
                 id="wrap(callable).predict_proba: strings"),
    pytest.param(call_proba(lambda b: None), ["model output", "numeric", "None"],
                 id="wrap(callable).predict_proba: None"),
    pytest.param(call_proba(lambda b: [[1.0, 2.0]] + [[1.0]] * (len(b) - 1)), ["model output", "numeric"],
                 id="wrap(callable).predict_proba: ragged lists"),
    pytest.param(call_proba(lambda b: np.ones(len(b) - 1)), ["model output", "10", "(9,)"],
                 id="wrap(callable).predict_proba: n - 1 rows"),
    pytest.param(call_proba(lambda b: np.ones((len(b), 2, 2))), ["model output", "(n,) or (n, k)", "(10, 2, 2)"],
                 id="wrap(callable).predict_proba: 3-D output"),
    pytest.param(call_proba(lambda b: np.array([{"p": 1}] * len(b))), ["model output", "numeric", "object"],
                 id="wrap(callable).predict_proba: objects"),
    # ---- detector parameters: refused at fit/score, naming the class and the parameter
    pytest.param(lambda: Energy(temperature=0).score(np.zeros((2, 2))), ["Energy", "'temperature'", "Got 0"],
                 id="Energy.score: temperature=0"),
    pytest.param(lambda: Energy(temperature=float("nan")).score(np.zeros((2, 2))), ["Energy", "'temperature'", "nan"],
                 id="Energy.score: temperature=nan"),
    pytest.param(lambda: Energy(temperature="1").score(np.zeros((2, 2))), ["Energy", "'temperature'", "'1'"],
                 id="Energy.score: temperature as a string"),
    pytest.param(lambda: GEN(top_m=True).score(np.zeros((2, 2))), ["GEN", "'top_m'", "True"],
                 id="GEN.score: top_m=True"),
    pytest.param(lambda: ODIN(epsilon=-1.0).score(np.zeros((2, 2))), ["ODIN", "'epsilon'", "-1.0"],
                 id="ODIN.score: negative epsilon"),
    pytest.param(lambda: KNN(k=0).fit(np.zeros((5, 2))), ["KNN", "'k'", "Got 0"], id="KNN.fit: k=0"),
    pytest.param(lambda: KNN(random_state=-3).fit(np.zeros((5, 2))), ["KNN", "'random_state'", "-3"],
                 id="KNN.fit: negative random_state"),
    pytest.param(lambda: Mahalanobis(layer=3).fit(np.zeros((5, 2)), [0, 1, 0, 1, 0]), ["Mahalanobis", "'layer'", "3"],
                 id="Mahalanobis.fit: layer=3"),
    pytest.param(lambda: ReAct(percentile=0).fit(np.zeros((5, 2))), ["ReAct", "'percentile'"],
                 id="ReAct.fit: percentile=0"),
    pytest.param(lambda: GaussianMixtureDetector(covariance_type="ful").fit(np.zeros((5, 2))),
                 ["GaussianMixtureDetector", "'covariance_type'", "'full'", "'ful'"],
                 id="GaussianMixtureDetector.fit: unknown covariance_type"),
    pytest.param(lambda: IsolationForestDetector(random_state=np.random.default_rng(0)).fit(np.zeros((5, 2))),
                 ["IsolationForestDetector", "'random_state'", "Generator"],
                 id="IsolationForestDetector.fit: a Generator scikit-learn cannot take"),
    pytest.param(lambda: Energy(batch_size=0).score(np.zeros((2, 2))), ["Energy", "'batch_size'"],
                 id="Energy.score: batch_size=0"),
    pytest.param(lambda: Energy(progress="yes").score(np.zeros((2, 2))), ["Energy", "'progress'", "'yes'"],
                 id="Energy.score: progress='yes'"),
    pytest.param(lambda: KNN().set_params(kk=1), ["'kk'", "KNN", "Expected one of"], id="KNN.set_params: unknown"),
    # ---- check parameters: refused at run, naming the check class
    pytest.param(lambda: registered_checks()["calibration"](n_bins=0).run(None), ["CalibrationCheck", "'n_bins'"],
                 id="CalibrationCheck.run: n_bins=0"),
    pytest.param(lambda: registered_checks()["ood"](tpr=1.0).run(None), ["OODCheck", "'tpr'", "1.0"],
                 id="OODCheck.run: tpr=1"),
    pytest.param(lambda: registered_checks()["ood"](detectors="Energy").run(None), ["OODCheck", "'detectors'"],
                 id="OODCheck.run: detectors as one string"),
    pytest.param(lambda: registered_checks()["fairness"](intersections="no").run(None), ["FairnessCheck", "'intersections'"],
                 id="FairnessCheck.run: intersections='no'"),
    pytest.param(lambda: registered_checks()["group_performance"](n_boot=-1).run(None), ["GroupPerformanceCheck", "'n_boot'"],
                 id="GroupPerformanceCheck.run: n_boot=-1"),
]




@pytest.mark.parametrize("protocol", [2, 5])
def test_refused_components_pickle_renamed_pt(tmp_path, protocol):
    """load_model: a plain pickle renamed .pt says it holds pickled objects and how to opt in."""
    from assay.io import load_model

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=protocol))
    with pytest.raises(AssayInputError) as info:
        load_model(str(path))
    for word in ("pickled Python objects", "--trust-model-file", "trust_model_file=True"):
        assert word in str(info.value)


# --- Documents and the command line: broken records, flags, Markdown injection -------------------------------------

MINIMAL = {"title": "t", "model": {"name": None, "fingerprint": "f"},
           "dataset": {"name": None, "eval_split": "test", "fingerprints": {}}, "seed": 0, "findings": [],
           "checks": {}, "summary": {"worst_severity": "pass", "findings": {"pass": 0, "warn": 0, "fail": 0},
                                     "checks_skipped": {}, "forward_passes": {}}}


def _without(key, inner=None):
    record = copy.deepcopy(MINIMAL)
    del (record[inner] if inner else record)[key]
    return record


CASES_DOCUMENTS = [
    pytest.param(lambda: read_card_sections({"intended use": "x"}), ["unknown section 'intended use'", "intended_use"],
                 id="read_card_sections: unknown section"),
    pytest.param(lambda: read_card_sections({"intended_use": 3}), ["['intended_use']", "text", "int"],
                 id="read_card_sections: a section that is not text"),
    pytest.param(lambda: read_card_sections(["intended_use"]), ["mapping", "list"],
                 id="read_card_sections: not a mapping"),
    pytest.param(lambda: read_card_sections("no/such/file.yaml"), ["not a file", "no/such/file.yaml"],
                 id="read_card_sections: no such file"),
    pytest.param(lambda: model_card_markdown({**MINIMAL, "card_sections": "intended_use.yaml"}),
                 ["['card_sections']", "mapping", "str"],
                 id="model_card_markdown: card_sections in a record not a mapping"),
    pytest.param(lambda: check_record(_without("dataset")), ["'dataset'", "not an audit record"],
                 id="model_card_markdown: record without dataset"),
    pytest.param(lambda: model_card_markdown(_without("eval_split", "dataset")), ["'dataset'", "'eval_split'"],
                 id="model_card_markdown: dataset without eval_split"),
    pytest.param(lambda: render_audit_html(["not", "a", "record"]), ["record", "JSON object", "list"],
                 id="render_audit_html: a list"),
    pytest.param(lambda: model_card_markdown(dict(MINIMAL, checks={"x": {"result": {}}})), ["'x'", "'status'"],
                 id="model_card_markdown: check record without status"),
    pytest.param(lambda: model_card_markdown(dict(MINIMAL, seed="0")), ["'seed'", "int", "str"],
                 id="model_card_markdown: seed of the wrong type"),
    pytest.param(lambda: write_audit_report(MINIMAL, __file__), ["out_dir", "is a file"],
                 id="write_audit_report: out_dir is a file"),
    pytest.param(lambda: plot_embedding_projection(np.zeros((5, 2)), is_ood=np.zeros(5, bool)),
                 ["'projection'", "Projection"], id="plot_embedding_projection: not a projection"),
    pytest.param(lambda: plot_coverage_curve([0.5, 1.0], [0.9]), ["'coverage'", "'accuracy'", "same length"],
                 id="plot_coverage_curve: lengths differ"),
]




def test_minimal_record_renders():
    assert "# Model card: model" in model_card_markdown(MINIMAL)
    assert "<html" in render_audit_html(MINIMAL)


# ---------------------------------------------------------------------------------------- command line

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-cli")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300)})
    frame["label"] = (frame.x1 + rng.normal(size=300) > 0).astype(int)
    frame.to_csv(root / "test.csv", index=False)
    for name, c in (("model.pkl", 1.0), ("other.pkl", 0.01)):
        with open(root / name, "wb") as handle:
            pickle.dump(LogisticRegression(C=c).fit(frame[["x1", "x2"]], frame["label"]), handle)
    return root


def _cli_audit(files, *extra, out="run"):
    return ["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data", str(files / "test.csv"),
            "--target", "label", "--checks", "group_performance", "--out", str(files / out), *extra]


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def test_out_naming_a_file_is_one_line(files, capsys):
    (files / "a-file").write_text("x")
    assert main(_cli_audit(files, out="a-file")) == 2
    _one_line_error(capsys, "--out", "is a file")


@pytest.mark.parametrize("content, words", [
    (json.dumps({k: v for k, v in MINIMAL.items() if k != "dataset"}), ["'dataset'"]),
    (json.dumps([1, 2]), ["JSON object"]),
    ("{not json", ["not valid JSON"]),
    (json.dumps(dict(MINIMAL, checks={"group_performance": {
        "status": "ok", "title": "t", "name": "n", "result": {"overall": {}, "by_group": {"bad": 1}}, "summary": {}}})),
     ["layout", "re-run"]),
])
@pytest.mark.parametrize("command", ["card", "report"])
def test_card_and_report_on_a_broken_record_are_one_line(tmp_path, capsys, content, words, command):
    (tmp_path / "report.json").write_text(content)
    assert main([command, str(tmp_path)]) == 2
    _one_line_error(capsys, "run_dir", *words)


def test_card_on_a_broken_record_from_a_new_process(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"title": "x", "checks": {}}))
    done = subprocess.run([sys.executable, "-m", "assay", "card", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("message, expected", [
    ("'checks' names unknown check 'x'. Available: ['a'].", "--checks names unknown check 'x'"),
    ("Use a new directory, or pass resume=False to start over in this one.", "pass --no-resume to start"),
    ("'sensitive_features' names ['g'], not columns of data['test'].", "--sensitive names ['g']"),
    ("'features' names ['z'], which the model does not take.", "--features names ['z']"),
    ("'target' 'y' is not a column of data['test'].", "--target 'y' is not"),
    ("The 'seed' parameter of Audit must be an int.", "The --seed of Audit"),
    ("first line\nsecond line", "first line"),
    ("'sensitive_features' names ['sex'], not columns of data['test']. Columns: 'age', 'target'.",
     "Columns: 'age', 'target'."),
    ("--sensitive: column 'sex' is not in 'test.csv', which has 2 column(s): 'age', 'target'.",
     "which has 2 column(s): 'age', 'target'."),
])
def test_api_words_become_flags(message, expected):
    assert expected in cli_message(message)
    assert "\n" not in cli_message(message)


def test_audit_errors_reach_the_cli_in_flags(files, capsys):
    assert main(_cli_audit(files, "--checks", "no_such_check", out="unknown-check")) == 2
    err = _one_line_error(capsys, "--checks")
    assert "'checks'" not in err
    assert main(_cli_audit(files, out="shared")) == 0
    capsys.readouterr()
    other = _cli_audit(files, out="shared")
    other[2] = str(files / "other.pkl")
    assert main(other) == 2
    _one_line_error(capsys, "--no-resume")
    assert main([*other, "--no-resume"]) == 0


@pytest.fixture
def crashing_check():
    @register_check
    class Crashing(Check):
        name = "crashing_docs_stub"
        needs = frozenset({"model"})
        order = 990

        def run(self, context):
            raise RuntimeError("boom\nwith a second line")

    yield Crashing
    CHECKS.pop("crashing_docs_stub")


def test_fail_on_treats_a_crashed_check_as_a_fail(files, capsys, crashing_check):
    args = _cli_audit(files, out="crash")
    args[args.index("--checks") + 1] = "group_performance,crashing_docs_stub"
    assert main(args) == 0  # without --fail-on, the audit still finishes and writes its documents
    card = (files / "crash" / "MODEL_CARD.md").read_text()
    assert "crashing_docs_stub did not finish: RuntimeError: boom with a second line" in card
    assert main([*args, "--fail-on", "fail"]) == 1
    assert main([*args, "--fail-on", "warn"]) == 1


@pytest.mark.parametrize("worst, statuses, fail_on, fails", [
    ("error", ["ok"], "fail", True), ("fail", ["ok", "error"], "fail", True), ("pass", ["error"], "fail", True),
    ("pass", ["error"], "warn", True), ("warn", ["ok"], "fail", False), ("error", ["error"], "never", False),
    ("fail", ["ok"], "warn", True), ("pass", ["ok"], "warn", False),
])
def test_fail_on_reads_both_spellings_of_an_error(worst, statuses, fail_on, fails):
    records = {str(i): {"status": s} for i, s in enumerate(statuses)}
    result = types.SimpleNamespace(worst_severity=worst, records=records)
    assert _fails(result, fail_on) is fails


class _Recorded(Exception):
    pass


def test_features_and_layer_reach_audit(files, monkeypatch):
    import assay.audit

    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise _Recorded

    monkeypatch.setattr(assay.audit, "Audit", fake)
    with pytest.raises(_Recorded):
        main(_cli_audit(files, "--features", "x1, x2", "--layer", "fc1", out="recorded"))
    assert seen["features"] == ["x1", "x2"] and seen["check_params"] == {"ood": {"layer": "fc1"}}
    seen.clear()
    with pytest.raises(_Recorded):
        main(_cli_audit(files, out="recorded"))
    assert "features" not in seen and "check_params" not in seen  # only when given


@pytest.mark.skipif("features" not in inspect.signature(Audit).parameters,
                    reason="Audit(features=...) is not merged yet (helper iohard)")
def test_features_flag_runs_a_model_that_takes_fewer_columns(files, capsys):
    frame = pd.read_csv(files / "test.csv").assign(extra=1.0)
    frame.to_csv(files / "extra.csv", index=False)
    args = _cli_audit(files, "--features", "x1,x2", out="features")
    args[args.index("--data") + 1] = str(files / "extra.csv")
    assert main(args) == 0, capsys.readouterr().err


def test_threshold_help_lists_every_known_key(capsys):
    keys = _threshold_keys()
    assert {"ece_warn", "ood_auroc_warn"} <= set(keys) and len(keys) > 10
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(key in help_text for key in keys)


# --- The audit's inputs: targets, labels, columns, sensitive features ----------------------------------------------

_RNG = np.random.default_rng(3)
_N = 200
_INPUT_FRAME = pd.DataFrame({"x1": _RNG.normal(size=_N), "x2": _RNG.normal(size=_N),
                       "sex": _RNG.choice(["F", "M"], _N), "age": _RNG.integers(18, 90, _N),
                       "label": _RNG.integers(0, 2, _N)})
_UNAWARE = LogisticRegression().fit(_INPUT_FRAME[["x1", "x2"]], _INPUT_FRAME["label"])
_YES_NO = _INPUT_FRAME.assign(label=np.where(_INPUT_FRAME["label"] == 1, "yes", "no"))


def _audit_inputs(data=None, **kwargs):
    kwargs.setdefault("target", "label")
    kwargs.setdefault("progress", False)
    return Audit(kwargs.pop("model", _UNAWARE), data or {"train": _INPUT_FRAME, "test": _INPUT_FRAME}, **kwargs).run()


_TMP = tempfile.TemporaryDirectory(prefix="assay_hostile_")  # removed when the test process ends


def _csv():
    """A CSV file of the data without the model's column x2."""
    path = Path(_TMP.name) / "no_x2.csv"
    _INPUT_FRAME.drop(columns=["x2"]).to_csv(path, index=False)
    return path


CASES_INPUTS = [
    pytest.param(lambda: _audit_inputs({"train": _INPUT_FRAME, "test": _YES_NO}),
                 ["'label'", "data['test']", "[0, 1]", "'no'", "map {'no': 0, 'yes': 1}"],
                 id="Audit: target coded yes/no for a model with classes 0/1"),
    pytest.param(lambda: _audit_inputs({"test": _INPUT_FRAME.assign(label=_INPUT_FRAME["label"] + 1)}),
                 ["'label'", "[0, 1]", "[2]", "Labels found: [1, 2]"],
                 id="Audit: labels 1/2 for a model with classes 0/1"),
    pytest.param(lambda: _audit_inputs(target="lable"), ["'target' 'lable'", "Did you mean 'label'?", "'age'"],
                 id="Audit: misspelt target"),
    pytest.param(lambda: _audit_inputs(target=["label"]), ["'target'", "a list"], id="Audit: target not a str"),
    pytest.param(lambda: _audit_inputs(sensitive_features="sex,agee"), ["['agee']", "Did you mean 'age'?"],
                 id="Audit: comma-joined sensitive_features with a misspelt column"),
    pytest.param(lambda: _audit_inputs(sensitive_features=["sex"], features=["x1", "x2", "sex"]),
                 ["'features'", "did not expect ['sex']"], id="Audit: features the unaware model was not fitted on"),
    pytest.param(lambda: _audit_inputs(features=["x1"]), ["'features'", "lacks ['x2']"],
                 id="Audit: features missing a column the model was fitted on"),
    pytest.param(lambda: _audit_inputs({"test": _INPUT_FRAME, "ood:far": _INPUT_FRAME.drop(columns=["x2", "label"])}),
                 ["data['ood:far']", "['x2']"], id="Audit: OOD split without a column of the model"),
    pytest.param(lambda: _audit_inputs(sensitive_features="age"), ["'age'", "distinct values", "bin_sensitive"],
                 id="Audit: continuous sensitive feature"),
    pytest.param(lambda: _audit_inputs(sensitive_features="age", bin_sensitive=0.5), ["'bin_sensitive'"],
                 id="Audit: bin_sensitive not an int >= 2"),
    pytest.param(lambda: bin_by_quantiles([1.0, np.nan, 3.0], 2), ["'values'", "numbers"],
                 id="bin_by_quantiles: missing values"),
    pytest.param(lambda: load_table(_csv(), target="label", features=["x1", "x2"]),
                 ["--data", "lacks the column(s) ['x2']"], id="load_table: file without a column of the model"),
    pytest.param(lambda: load_table(_csv(), target="lable"), ["--target", "Did you mean 'label'?"],
                 id="load_table: misspelt target"),
]




def test_an_unaware_model_runs_with_a_sensitive_column_it_was_not_fitted_on():
    result = _audit_inputs(sensitive_features="sex")
    assert all(r["status"] == "ok" for r in result.records.values())


# --- The grouped table and fairness measures: values, weights, indexes, sensitive features -------------------------

_SF = np.array(["a", "a", "b", "b"])
_DUP = pd.DataFrame([["F", "x"], ["M", "y"], ["F", "y"], ["M", "x"]], columns=["sex", "sex"])
_IDX = pd.Series([1, 0, 1, 0], index=[0, 1, 2, 3])
_IDX_OTHER = pd.Series(list("aabb"), index=[4, 5, 6, 7])

CASES_METRICS = [
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 2.0]}, sensitive_features=_SF),
                 ["values['x']", "4"], id="evaluate_groups: values of the wrong length"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, np.nan, 0.0, 1.0]}, sensitive_features=_SF),
                 ["values['x']", "NaN"], id="evaluate_groups: NaN in values"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, np.inf, 0.0, 1.0]}, sensitive_features=_SF),
                 ["values['x']", "infinite"], id="evaluate_groups: inf in values"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 0.0, 0.0, 1.0]}, metrics=["median:x"],
                                         sensitive_features=_SF),
                 ["metrics", "median:x", "mean"], id="evaluate_groups: unknown statistic prefix"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 0.0, 0.0, 1.0]}, metrics=["mean:y"],
                                         sensitive_features=_SF),
                 ["metrics", "mean:y", "'x'"], id="evaluate_groups: value name missing from values"),
    pytest.param(lambda: evaluate_groups(metrics=["mean:y"], sensitive_features=_SF),
                 ["values", "mean:y"], id="evaluate_groups: value metric without values"),
    pytest.param(lambda: evaluate_groups(values=[1.0, 0.0, 0.0, 1.0], sensitive_features=_SF),
                 ["values", "dict"], id="evaluate_groups: values not a dict"),
    pytest.param(lambda: evaluate_groups(values={"x": ["a", "b", "c", "d"]}, sensitive_features=_SF),
                 ["values['x']"], id="evaluate_groups: non-numeric values"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 0.0, 0.0, 1.0]}, metrics=["accuracy"],
                                         sensitive_features=_SF),
                 ["y_true", "accuracy"], id="evaluate_groups: label metric without y_true"),
    pytest.param(lambda: evaluate_groups_batches([{"values": {"x": [1.0]}, "sensitive_features": ["a"]},
                                                  {"values": {"y": [1.0]}, "sensitive_features": ["b"]}],
                                                 metrics=["mean:x"]),
                 ["batch 1", "mean:x"], id="evaluate_groups_batches: values keys change"),
    pytest.param(lambda: GroupedStats().update(values={"x": [1.0]}, sensitive_features=["a"]).update(
        values={"z": [1.0]}, sensitive_features=["a"]), ["values"], id="GroupedStats.update: values keys change"),
    pytest.param(lambda: evaluate_groups([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_SF,
                                         sample_weight=np.zeros(4)),
                 ["sample_weight", "positive total"], id="evaluate_groups: all-zero sample_weight"),
    pytest.param(lambda: af.demographic_parity_ratio([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_SF,
                                                     sample_weight=np.zeros(4)),
                 ["sample_weight", "positive total"], id="demographic_parity_ratio: all-zero sample_weight"),
    pytest.param(lambda: af.fairness_report([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_SF,
                                            sample_weight=[0, 0, 0, 0]),
                 ["sample_weight", "positive total"], id="fairness_report: all-zero sample_weight"),
    pytest.param(lambda: evaluate_groups(_IDX, _IDX, sensitive_features=_IDX_OTHER),
                 ["'y_true'", "'sensitive_features'", "index"], id="evaluate_groups: misaligned pandas indexes"),
    pytest.param(lambda: af.demographic_parity_difference(_IDX, _IDX, sensitive_features=_IDX_OTHER),
                 ["'sensitive_features'", "index"], id="demographic_parity_difference: misaligned pandas"),
    pytest.param(lambda: af.fairness_report(_IDX, _IDX, sensitive_features=_IDX_OTHER),
                 ["'sensitive_features'", "index"], id="fairness_report: misaligned pandas"),
    pytest.param(lambda: evaluate_groups([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_DUP),
                 ["sensitive_features", "'sex'", "more than once"], id="evaluate_groups: duplicate sensitive columns"),
    pytest.param(lambda: check_sensitive_features(_DUP),
                 ["sensitive_features", "'sex'", "more than once"],
                 id="check_sensitive_features (Audit): duplicate sensitive columns"),
    pytest.param(lambda: af.fairness_report([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_DUP),
                 ["sensitive_features", "'sex'", "more than once"], id="fairness_report: duplicate sensitive columns"),
    pytest.param(lambda: rejection_by_group([0.1, 0.2, np.nan, 0.3], 0.5, _SF),
                 ["scores"], id="rejection_by_group: NaN score"),
]


# --- One name per idea: random_state and confidence_level, and their deprecated aliases ----------------------------

_Y8 = np.array([0, 1, 1, 0, 1, 0, 1, 1])
_G8 = np.array(["a", "a", "b", "b", "a", "b", "a", "b"])

CASES_NAMES = [
    pytest.param(lambda: Audit(None, {}, random_state=1, seed=2), ["'seed'", "'random_state'", "both"],
                 id="Audit: seed and random_state both"),
    pytest.param(lambda: load_german_credit(random_state=None, seed=2), ["'seed'", "random_state=None"],
                 id="load_german_credit: seed beside random_state=None"),
    pytest.param(lambda: af.fairness_report(_Y8, _Y8, sensitive_features=_G8, random_state=0, seed=0),
                 ["'seed'", "'random_state'"], id="fairness_report: seed and random_state both"),
    pytest.param(lambda: evaluate_groups(_Y8, _Y8, sensitive_features=_G8, confidence_level=0.9, ci_level=0.8),
                 ["'ci_level'", "'confidence_level'", "confidence_level=0.9"],
                 id="evaluate_groups: ci_level and confidence_level both"),
    pytest.param(lambda: evaluate_groups(_Y8, _Y8, sensitive_features=_G8, n_boot=5, confidence_level=1.5),
                 ["'confidence_level'", "evaluate_groups", "1.5"], id="evaluate_groups: confidence_level 1.5"),
    pytest.param(lambda: af.two_proportion_test(1, 2, 1, 2, confidence_level=0.9, confidence=0.9),
                 ["'confidence'", "'confidence_level'"], id="two_proportion_test: confidence and confidence_level"),
    pytest.param(lambda: wilson_interval(1, 2, confidence_level="0.9"), ["'confidence_level'", "wilson_interval"],
                 id="wilson_interval: confidence_level a str"),
    pytest.param(lambda: Audit(None, {"test": (np.zeros((2, 1)), None)}, random_state=-1).run(),
                 ["'random_state'", "Audit", "-1"], id="Audit: negative random_state"),
]


# --- Headline rows read by the documents ---------------------------------------------------------------------------

def _headline_record():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"x": rng.normal(size=n), "sex": rng.choice(["F", "M"], n)})
    frame["label"] = (frame["x"] + rng.normal(size=n) > 0).astype(int)

    class Model:
        classes_ = np.array([0, 1])

        def fit(self, X, y):  # pragma: no cover
            return self

        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-X["x"].to_numpy(float)))
            return np.c_[1 - p, p]

    result = Audit(Model(), {"test": frame}, target="label", sensitive_features=["sex"],
                   checks=["group_performance"], check_params={"group_performance": {"n_boot": 0}},
                   progress=False).run()
    return audit_record(result)


_HEADLINE_RECORD = _headline_record()


def _with_headline(rows):
    record = copy.deepcopy(_HEADLINE_RECORD)
    record["checks"]["group_performance"]["headline"] = rows
    return record


CASES_HEADLINE = [
    pytest.param(lambda: model_card_markdown(_with_headline("accuracy 0.8")),
                 ["['checks']['group_performance']['headline']", "list", "str"],
                 id="model_card_markdown: headline not a list"),
    pytest.param(lambda: render_audit_html(_with_headline([{"value": 0.8}])),
                 ["['headline'][0]", "string 'metric'"], id="render_audit_html: headline row without a metric"),
    pytest.param(lambda: render_audit_html(_with_headline([{"metric": "accuracy", "value": "0.8"}])),
                 ["['headline'][0]['value']", "number or null", "'0.8'"],
                 id="render_audit_html: headline value a string"),
    pytest.param(lambda: write_audit_report(_with_headline([{"metric": "accuracy", "lower": True}]), "unused"),
                 ["['lower']", "number or null", "bool"], id="write_audit_report: headline bound a bool"),
]


def test_a_record_without_headline_rows_still_renders():
    record = copy.deepcopy(_HEADLINE_RECORD)
    record.pop("headline")
    for check in record["checks"].values():
        check.pop("headline")
    card = model_card_markdown(record)
    assert "| group_performance | accuracy |  | overall |" in card
    assert "Headline numbers" in render_audit_html(record)


# ---------------------------------------------------------------------- conformal prediction
_P2 = np.full((20, 2), 0.5)

CASES_CONFORMAL = [
    pytest.param(lambda: ConformalClassifier().fit(np.full((20, 2), 0.6), np.zeros(20, int)),
                 ["proba_cal", "summing to 1"], id="ConformalClassifier.fit: rows not summing to 1"),
    pytest.param(lambda: ConformalClassifier(alpha=1.0).fit(_P2, np.zeros(20, int)),
                 ["alpha", "ConformalClassifier", "(0, 1)"], id="ConformalClassifier: alpha = 1"),
    pytest.param(lambda: ConformalRegressor(alpha=-0.1).fit(np.zeros(20), np.zeros(20)),
                 ["alpha", "ConformalRegressor"], id="ConformalRegressor: alpha < 0"),
    pytest.param(lambda: ConformalClassifier(alpha=0.1).fit(_P2[:5], np.zeros(5, int)),
                 ["y_cal", "5 calibration row", "at least 9"], id="ConformalClassifier.fit: fewer rows than 1/alpha"),
    pytest.param(lambda: ConformalRegressor(alpha=0.05).fit(np.zeros(10), np.zeros(10)),
                 ["y_cal", "at least 19"], id="ConformalRegressor.fit: fewer rows than 1/alpha"),
    pytest.param(lambda: ConformalClassifier().fit(_P2, np.zeros(19, int)),
                 ["proba_cal: 20", "y_cal: 19"], id="ConformalClassifier.fit: mismatched lengths"),
    pytest.param(lambda: ConformalClassifier().fit(_P2, np.zeros(20, int), sensitive_features=np.zeros(19)),
                 ["sensitive_features", "19"], id="ConformalClassifier.fit: sensitive_features length"),
    pytest.param(lambda: ConformalClassifier().fit(_P2, np.full(20, 3)),
                 ["y_cal", "class index 3", "2 columns"], id="ConformalClassifier.fit: label beyond the columns"),
    pytest.param(lambda: ConformalClassifier(method="lac", randomized=True).fit(_P2, np.zeros(20, int)),
                 ["randomized", "aps"], id="ConformalClassifier: randomized LAC"),
    pytest.param(lambda: ConformalClassifier().fit(_P2, np.zeros(20, int)).predict_sets(np.full((3, 3), 1 / 3)),
                 ["proba", "3 columns", "2 classes"], id="ConformalClassifier.predict_sets: other class count"),
    pytest.param(lambda: ConformalClassifier().fit(_P2, np.zeros(20, int), sensitive_features=["a", "b"] * 10
                                                   ).predict_sets(_P2), ["sensitive_features", "required"],
                 id="ConformalClassifier.predict_sets: Mondrian without sensitive_features"),
    pytest.param(lambda: ConformalRegressor(method="cqr").fit(np.zeros((20, 3)), np.zeros(20)),
                 ["y_pred_cal", "(n, 2)", "cqr"], id="ConformalRegressor.fit: CQR bounds not (n, 2)"),
    pytest.param(lambda: ConformalRegressor(method="normalized").fit(np.zeros(20), np.zeros(20), scale=-np.ones(20)),
                 ["scale", "> 0"], id="ConformalRegressor.fit: negative scale"),
    pytest.param(lambda: ConformalRegressor().fit(np.zeros(20), np.r_[np.zeros(19), np.nan]),
                 ["y_cal", "NaN"], id="ConformalRegressor.fit: NaN target"),
    pytest.param(lambda: conformal_report(np.ones((4, 2), bool), [0, 1, 0, 1], ["a", "b"] * 2, alpha=0),
                 ["alpha", "conformal_report"], id="conformal_report: alpha = 0"),
    pytest.param(lambda: conformal_report(np.array([[1.0, 0.0]] * 4), [0.5] * 4, ["a", "b"] * 2),
                 ["sets_or_intervals", "upper < lower"], id="conformal_report: inverted intervals"),
]


# ---------------------------------------------------------------------------------------------
# Calibration metrics and uncertainty scores (issue 13 items 2 and 5)
# ---------------------------------------------------------------------------------------------

_P3 = np.array([[0.1, 0.85, 0.05], [0.6, 0.3, 0.1], [0.39, 0.61, 0.0]])


def _calibration(name):
    import assay.metrics as am

    return getattr(am, name)


def _uncertainty(name):
    import assay.uncertainty as au

    return getattr(au, name)


CASES_CALIBRATION_METRICS = [
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 2], [[0.2, 0.3, 0.6]] * 3),
                 ["'proba'", "rows summing to 1", "1.1"], id="expected_calibration_error: rows not summing to 1"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 2], -_P3 + 2 * np.eye(3)[[1, 0, 1]]),
                 ["'proba'", "[0, 1]"], id="expected_calibration_error: negative probabilities"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 2], np.where(np.eye(3) > 0, np.nan, _P3)),
                 ["'proba'", "NaN"], id="expected_calibration_error: NaN probabilities"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 5], _P3),
                 ["'y_true'", "0..2", "5"], id="expected_calibration_error: label outside the columns"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1], _P3),
                 ["y_true", "proba", "2", "3"], id="expected_calibration_error: lengths differ"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 1], _P3, strategy="equal"),
                 ["'strategy'", "'uniform'", "'quantile'", "'equal'"],
                 id="expected_calibration_error: unknown strategy"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 1], _P3, kind="marginal"),
                 ["'kind'", "'top_label'", "'classwise'"], id="expected_calibration_error: unknown kind"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 1], _P3, n_bins=0),
                 ["'n_bins'", "[1, inf)", "0"], id="expected_calibration_error: zero bins"),
    pytest.param(lambda: _calibration("expected_calibration_error")([0, 1, 1], _P3, norm="l3"),
                 ["'norm'", "'max'", "'l3'"], id="expected_calibration_error: unknown norm"),
    pytest.param(lambda: _calibration("adaptive_calibration_error")([0, 1, 1], _P3, sample_weight=[1, -1, 1]),
                 ["sample_weight", "negative"], id="adaptive_calibration_error: negative weight"),
    pytest.param(lambda: _calibration("reliability_table")([0, 1, 2], [0.2, 0.3, 0.6]),
                 ["'y_true'", "two distinct labels"], id="reliability_table: three labels with binary proba"),
    pytest.param(lambda: _uncertainty("entropy")([[0.2, 0.2], [0.5, 0.5]]),
                 ["'proba'", "rows summing to 1"], id="entropy: rows not summing to 1"),
    pytest.param(lambda: _uncertainty("margin")([[1.5, -0.5]]), ["'proba'", "-0.5"], id="margin: negative"),
    pytest.param(lambda: _uncertainty("least_confidence")([[np.nan, 1.0]]), ["'proba'", "NaN"],
                 id="least_confidence: NaN"),
    pytest.param(lambda: _uncertainty("entropy")([0.2, 0.8]), ["'proba'", "2-D", "column_stack"],
                 id="entropy: 1-D probabilities"),
    pytest.param(lambda: _uncertainty("uncertainty_sampling")(_P3, 4), ["'k'", "[1, 3]", "4"],
                 id="uncertainty_sampling: k larger than the rows"),
    pytest.param(lambda: _uncertainty("uncertainty_sampling")(_P3, 1, method="bald"), ["'method'", "'margin'"],
                 id="uncertainty_sampling: unknown method"),
]



# ---------------------------------------------------------------------------------------------
# Recalibration (issue 13 item 3): the calibrators and wrap(model, calibrator=...)
# ---------------------------------------------------------------------------------------------

def _recalibration_cases():
    from assay.uncertainty import HistogramBinning, MatrixScaling, TemperatureScaling

    z = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.2, 0.1]])
    y = np.array([0, 1, 0, 1])
    groups = np.array(["a", "b", "a", "b"])

    def fitted():
        return TemperatureScaling().fit(z, y)

    def per_group():
        return TemperatureScaling(per_group=True).fit(z, y, sensitive_features={"sex": groups})

    def model():
        return LogisticRegression().fit(z, y)

    return [
        pytest.param(lambda: TemperatureScaling(scores="probabilities").fit([[0.5, 0.6], [0.2, 0.8]], [0, 1]),
                     ["'y_score'", "summing to 1"], id="TemperatureScaling: probabilities that do not sum to 1"),
        pytest.param(lambda: TemperatureScaling().fit(np.full((2, 2), np.nan), [0, 1]), ["'y_score'", "finite"],
                     id="TemperatureScaling: NaN logits"),
        pytest.param(lambda: TemperatureScaling().fit(np.zeros((2, 1)), [0, 0]), ["'y_score'", "(n, k >= 2)"],
                     id="TemperatureScaling: one column"),
        pytest.param(lambda: TemperatureScaling().fit(z[:3], [0, 1, 2]), ["'y_true'", "[0, 1]", "2"],
                     id="TemperatureScaling: a label beyond the columns"),
        pytest.param(lambda: TemperatureScaling().fit(z, ["no", "yes", "no", "yes"]), ["'y_true'", "0..k-1"],
                     id="TemperatureScaling: string labels"),
        pytest.param(lambda: TemperatureScaling().fit(z, y[:3]), ["y_true: 3", "y_score: 4"],
                     id="TemperatureScaling: labels of another length"),
        pytest.param(lambda: TemperatureScaling(scores="logit").fit(z, y), ["TemperatureScaling", "'scores'",
                                                                            "'logits'"],
                     id="TemperatureScaling: unknown scores"),
        pytest.param(lambda: HistogramBinning(n_bins=0).fit(z, y), ["HistogramBinning", "'n_bins'"],
                     id="HistogramBinning: no bins"),
        pytest.param(lambda: MatrixScaling(reg_lambda=-1.0).fit(z, y), ["MatrixScaling", "'reg_lambda'"],
                     id="MatrixScaling: negative penalty"),
        pytest.param(lambda: TemperatureScaling(per_group=True).fit(z, y), ["'sensitive_features'", "per_group=True"],
                     id="TemperatureScaling: per_group without sensitive features"),
        pytest.param(lambda: TemperatureScaling(per_group=True).fit(z, y, sensitive_features=groups[:3]),
                     ["sensitive_features: 3", "4"], id="TemperatureScaling: sensitive features of another length"),
        pytest.param(lambda: fitted().predict_proba(np.zeros((2, 3))), ["'y_score'", "2 columns"],
                     id="TemperatureScaling.predict_proba: another number of classes"),
        pytest.param(lambda: per_group().predict_proba(z, sensitive_features={"race": groups}),
                     ["'sensitive_features'", "columns of fit", "'sex'", "'race'"],
                     id="TemperatureScaling.predict_proba: other sensitive features than in fit"),
        pytest.param(lambda: per_group().predict_proba(z), ["'sensitive_features'", "per_group=True"],
                     id="TemperatureScaling.predict_proba: per-group without sensitive features"),
        pytest.param(lambda: assay.wrap(model(), calibrator=TemperatureScaling()), ["TemperatureScaling", "fit"],
                     id="wrap: an unfitted calibrator"),
        pytest.param(lambda: assay.wrap(model(), calibrator=per_group()), ["'calibrator'", "per_group=True"],
                     id="wrap: a per-group calibrator"),
        pytest.param(lambda: assay.wrap(model(), calibrator="temperature"), ["'calibrator'", "predict_proba", "'temperature'"],
                     id="wrap: a calibrator that is not one"),
    ]


CASES_RECALIBRATION = _recalibration_cases()


# --- Regression (issue 13 item 1): regression metrics, regressors in wrap and in the audit -------------------------

_REG_RNG = np.random.default_rng(13)
_REG_X = pd.DataFrame({"x1": _REG_RNG.normal(size=120), "x2": _REG_RNG.normal(size=120)})
_REG_Y = 3 * _REG_X["x1"] - _REG_X["x2"] + _REG_RNG.normal(size=120)
_REG_PRED = _REG_Y.to_numpy() + _REG_RNG.normal(size=120)
_REG_GROUPS = pd.DataFrame({"sex": np.where(_REG_RNG.random(120) < 0.5, "F", "M")})


def _regressor():
    from sklearn.linear_model import Ridge

    return Ridge().fit(_REG_X, _REG_Y)


def _reg_table(**kwargs):
    arguments = {"y_true": _REG_Y.to_numpy(), "y_pred": _REG_PRED, "sensitive_features": _REG_GROUPS,
                 "metrics": ["mae", "r2"], **kwargs}
    return evaluate_groups(**arguments)


CASES_REGRESSION = [
    pytest.param(lambda: _reg_table(y_pred=np.array(["high"] * 120)), ["'y_pred'", "float64"],
                 id="evaluate_groups: y_pred not numbers"),
    pytest.param(lambda: _reg_table(y_pred=np.where(np.arange(120) == 7, np.nan, _REG_PRED)), ["'y_pred'", "NaN"],
                 id="evaluate_groups: NaN in y_pred"),
    pytest.param(lambda: _reg_table(y_true=np.full(120, np.inf)), ["'y_true'"], id="evaluate_groups: inf in y_true"),
    pytest.param(lambda: _reg_table(y_pred=_REG_PRED[:100]), ["y_pred", "100"],
                 id="evaluate_groups: y_pred shorter than y_true"),
    pytest.param(lambda: _reg_table(y_pred=np.column_stack([_REG_PRED, _REG_PRED])), ["'y_pred'", "shape", "(120,)"],
                 id="evaluate_groups: y_pred (n, 2) for a 1-D y_true"),
    pytest.param(lambda: _reg_table(metrics=["mae", "accuracy"]), ["'metrics'", "mix", "accuracy"],
                 id="evaluate_groups: regression metric beside a label metric"),
    pytest.param(lambda: _reg_table(metrics=["interval_coverage"]), ["'y_interval'", "required"],
                 id="evaluate_groups: interval metric without y_interval"),
    pytest.param(lambda: _reg_table(metrics=["interval_width"], y_interval=np.ones((120, 3))),
                 ["'y_interval'", "(120, 2)", "(120, 3)"], id="evaluate_groups: y_interval of 3 columns"),
    pytest.param(lambda: _reg_table(metrics=["interval_width"],
                                    y_interval=np.column_stack([_REG_PRED + 1, _REG_PRED - 1])),
                 ["'y_interval'", "lower <= upper", "120 row(s)"], id="evaluate_groups: y_interval lower > upper"),
    pytest.param(lambda: _reg_table(metrics=["mae"], y_score=np.full(120, 0.5)), ["'y_score'", "regression"],
                 id="evaluate_groups: y_score given to regression metrics"),
    pytest.param(lambda: evaluate_groups_batches([{"y_true": _REG_Y.to_numpy(), "y_pred": _REG_PRED,
                                                   "sensitive_features": _REG_GROUPS},
                                                  {"y_true": np.column_stack([_REG_Y, _REG_Y]),
                                                   "y_pred": np.column_stack([_REG_PRED, _REG_PRED]),
                                                   "sensitive_features": _REG_GROUPS}], metrics=["mae"]),
                 ["batch 1", "outputs", "1", "2"], id="evaluate_groups_batches: outputs change between batches"),
    pytest.param(lambda: assay.wrap(_regressor(), task="classification"), ["'task'", "regressor"],
                 id="wrap: a regressor declared a classifier"),
    pytest.param(lambda: assay.wrap(_regressor(), task="ranking"), ["'task'", "'regression'", "'ranking'"],
                 id="wrap: unknown task"),
    pytest.param(lambda: assay.wrap(_regressor()).predict_proba(_REG_X), ["'predict_proba'", "regressor"],
                 id="wrap: predict_proba of a regressor"),
    pytest.param(lambda: assay.wrap(_regressor()).logits(_REG_X), ["'logits'", "regressor"],
                 id="wrap: logits of a regressor"),
    pytest.param(lambda: assay.wrap(lambda b: np.full(len(b), np.inf), task="regression").predict(_REG_X),
                 ["model output", "infinite", "row 0"], id="wrap: a regressor returning inf"),
    pytest.param(lambda: assay.wrap(lambda b: np.ones((len(b), 2, 2)), task="regression").predict(_REG_X),
                 ["model output", "shape (120, 2, 2)"], id="wrap: a regressor returning 3-D output"),
    pytest.param(lambda: Audit(_regressor(), {"test": (_REG_X, _REG_Y, _REG_GROUPS)}, checks=["fairness"]).run(),
                 ["'checks'", "fairness", "regression model"], id="Audit: a classification-only check on a regressor"),
    pytest.param(lambda: Audit(_regressor(), {"test": (_REG_X, _REG_Y, _REG_GROUPS)}, checks=["calibration"]).run(),
                 ["'checks'", "calibration", "probabilities"], id="Audit: calibration on a regressor"),
    pytest.param(lambda: Audit(_regressor(), {"test": (_REG_X, pd.Series(["a"] * 120, name="target"))}).run(),
                 ["target", "regression target", "float64"], id="Audit: regression target not numbers"),
    pytest.param(lambda: Audit(None, {"test": (_REG_X, _REG_Y)}, task="regression").run(),
                 ["'task'", "model=None"], id="Audit: task without a model"),
]


# --- Robustness: corruptions and robustness curves (issue 16) --------------------------------------------------------

_IMAGES = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
_CURVE_MODEL = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))


def _corruption(name, **params):
    from assay.robustness import get_corruption

    return get_corruption(name, **params)


def _curve(X=_IMAGES, y=(0, 1, 0, 1), **kwargs):
    from assay.robustness import robustness_curve

    return robustness_curve(_CURVE_MODEL, X, list(y), **kwargs)


CASES_ROBUSTNESS_CORRUPTIONS = [
    pytest.param(lambda: _corruption("fog"), ["Unknown corruption", "'fog'", "gaussian_noise"],
                 id="get_corruption: unknown name"),
    pytest.param(lambda: _corruption("gaussian_noise")(_IMAGES, 0, 0), ["'severity'", "[1, 5]", "0"],
                 id="corruption: severity 0"),
    pytest.param(lambda: _corruption("contrast")(_IMAGES, 2.5, 0), ["'severity'", "[1, 5]", "2.5"],
                 id="corruption: fractional severity"),
    pytest.param(lambda: _corruption("rotate")(_IMAGES * 3, 1, 0), ["'X'", "outside", "'valid_range'"],
                 id="image corruption: pixels outside the valid range"),
    pytest.param(lambda: _corruption("rotate", valid_range=(1, 0))(_IMAGES, 1, 0), ["'valid_range'", "low < high"],
                 id="image corruption: reversed valid range"),
    pytest.param(lambda: _corruption("jpeg")((_IMAGES * 255).to(torch.uint8), 1, 0), ["'X'", "floating", "uint8"],
                 id="image corruption: integer pixels"),
    pytest.param(lambda: _corruption("jpeg")(_IMAGES[0], 1, 0), ["'X'", "(n, c, h, w)", "(3, 8, 8)"],
                 id="image corruption: a 3-D tensor"),
    pytest.param(lambda: _corruption("gaussian_blur")(_IMAGES.masked_fill(_IMAGES > 0.9, float("nan")), 1, 0),
                 ["'X'", "NaN"], id="image corruption: NaN pixels"),
    pytest.param(lambda: _corruption("shot_noise")(_IMAGES, 1, -1), ["'random_state'", "-1"],
                 id="corruption: negative random_state"),
    pytest.param(lambda: _corruption("unit_error")(_IMAGES, 1, 0), ["'X'", "DataFrame"],
                 id="tabular corruption: a tensor"),
    pytest.param(lambda: _corruption("unit_error", columns=["height"])(_X, 1, 0), ["'columns'", "height"],
                 id="tabular corruption: unknown column"),
    pytest.param(lambda: _corruption("category_swap", strategy="nearest")(_X, 1, 0),
                 ["'strategy'", "'random'", "'frequency'", "nearest"], id="category_swap: unknown strategy"),
    pytest.param(lambda: _curve(severities=[6]), ["'severity'", "[1, 5]", "6"], id="robustness_curve: severity 6"),
    pytest.param(lambda: _curve(severities=[]), ["'severities'", "non-empty"], id="robustness_curve: no severities"),
    pytest.param(lambda: _curve(corruptions=["unit_error"]), ["'corruptions'", "tabular", "unit_error"],
                 id="robustness_curve: tabular corruption on images"),
    pytest.param(lambda: _curve(corruptions=["rotate", "rotate"]), ["'corruptions'", "twice"],
                 id="robustness_curve: a corruption twice"),
    pytest.param(lambda: _curve(metrics=["tpr"]), ["'metrics'", "'sensitive_features'", "tpr"],
                 id="robustness_curve: metrics other than accuracy without groups"),
    pytest.param(lambda: _curve(y=(0, 1, 0)), ["'y'", "3", "4"], id="robustness_curve: labels of another length"),
    pytest.param(lambda: _curve(X=_IMAGES.flatten(1)), ["'X'", "DataFrame", "(n, c, h, w)"],
                 id="robustness_curve: 2-D array"),
    pytest.param(lambda: _curve(slices={"device": [0, 1]}), ["'slices'", "one value per row"],
                 id="robustness_curve: slice of another length"),
    pytest.param(lambda: _curve(n_boot=-1), ["'n_boot'", "-1"], id="robustness_curve: negative n_boot"),
]

# ---------------------------------------------------------------------------------------------
# Adversarial attacks, attack reports, smoothing, adversarial training (issue 16 items 3 and 4)
# ---------------------------------------------------------------------------------------------


def _robust(name):
    import assay.robustness as ar

    return getattr(ar, name)


def _linear3():
    import torch

    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)


_XA = np.full((4, 4), 0.5, dtype=np.float32)
_XT = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": ["u", "v", "u", "v"]})


def _tabular_model():
    from sklearn.linear_model import LogisticRegression

    return lambda frame: LogisticRegression().fit(_XA[:, :2], [0, 1, 0, 1]).predict_proba(
        np.column_stack([np.asarray(frame)[:, 0].astype(float), np.zeros(len(frame))]))
_YA = np.array([0, 1, 2, 0])

CASES_ROBUSTNESS_ATTACKS = [
    pytest.param(lambda: _robust("FGSM")(_linear3(), eps=-0.1).generate(_XA, _YA), ["'eps'", "FGSM", "-0.1"],
                 id="FGSM: negative eps"),
    pytest.param(lambda: _robust("PGD")(_linear3(), eps=-1.0).generate(_XA, _YA), ["'eps'", "PGD", "[0, inf)"],
                 id="PGD: negative eps"),
    pytest.param(lambda: _robust("PGD")(_linear3(), norm="1").generate(_XA, _YA), ["'norm'", "'inf'", "'2'", "'1'"],
                 id="PGD: unknown norm"),
    pytest.param(lambda: _robust("PGD")(_linear3(), steps=0).generate(_XA, _YA), ["'steps'", "[1, inf)"],
                 id="PGD: zero steps"),
    pytest.param(lambda: _robust("PGD")(_linear3()).generate(_XA * 3, _YA), ["'X'", "clip=(0, 1)", "1.5"],
                 id="PGD: inputs outside the declared range"),
    pytest.param(lambda: _robust("FGSM")(_linear3()).generate(np.full((4, 4), np.nan), _YA), ["'X'", "NaN"],
                 id="FGSM: NaN inputs"),
    pytest.param(lambda: _robust("PGD")(_linear3()).generate(_XA, _YA, target=5), ["'target'", "does not have", "5"],
                 id="PGD: a target class the model does not have"),
    pytest.param(lambda: _robust("PGD")(_linear3()).generate(_XA, np.array([0, 1, 9, 0])), ["'y'", "9"],
                 id="PGD: a label the model does not have"),
    pytest.param(lambda: _robust("PGD")(_linear3()).generate(_XA, _YA[:3]), ["'y'", "(4,)"],
                 id="PGD: labels of the wrong length"),
    pytest.param(lambda: _robust("FGSM")(_linear3(), clip=(1, 0)).generate(_XA, _YA), ["'clip'", "low < high"],
                 id="FGSM: clip with low >= high"),
    pytest.param(lambda: _robust("DeepFool")(_linear3()).generate(_XA, _YA, target=1), ["'target'", "DeepFool"],
                 id="DeepFool: a target"),
    pytest.param(lambda: _robust("PGD")(lambda b: np.full((len(b), 2), 0.5)).generate(_XA),
                 ["'model'", "PyTorch", "SquareAttack"], id="PGD: a model without gradients"),
    pytest.param(lambda: _robust("SquareAttack")(_linear3(), max_queries=0).generate(_XA, _YA),
                 ["'max_queries'", "SquareAttack"], id="SquareAttack: zero queries"),
    pytest.param(lambda: _robust("HopSkipJump")(_linear3(), norm="1").generate(_XA, _YA), ["'norm'", "HopSkipJump"],
                 id="HopSkipJump: unknown norm"),
    pytest.param(lambda: _robust("CarliniWagnerL2")(_linear3(), learning_rate=0).generate(_XA, _YA),
                 ["'learning_rate'", "CarliniWagnerL2"], id="CarliniWagnerL2: zero learning rate"),
    pytest.param(lambda: _robust("TabularAttack")(_tabular_model()).generate(_XA),
                 ["'X'", "DataFrame", "TabularAttack"], id="TabularAttack: an array instead of a DataFrame"),
    pytest.param(lambda: _robust("TabularAttack")(_tabular_model(), immutable=["sex"]).generate(_XT),
                 ["'immutable'", "sex", "columns"], id="TabularAttack: an immutable column that does not exist"),
    pytest.param(lambda: _robust("TabularAttack")(_tabular_model(), max_changes=0).generate(_XT),
                 ["'max_changes'", "TabularAttack"], id="TabularAttack: a budget of zero changed columns"),
    pytest.param(lambda: _robust("attack_report")(_linear3(), _XA, _YA, "pgd"), ["'attack'", "'pgd'"],
                 id="attack_report: attack given by name"),
    pytest.param(lambda: _robust("attack_report")(_linear3(), _XA, _YA, _robust("PGD")(), n_boot=-1),
                 ["'n_boot'", "-1"], id="attack_report: negative n_boot"),
    pytest.param(lambda: _robust("attack_report")(_linear3(), _XA, _YA, _robust("PGD")(),
                                                  sensitive_features=["a"] * 4), ["sensitive_features", "two"],
                 id="attack_report: a single group"),
    pytest.param(lambda: _robust("SmoothedClassifier")(_linear3(), sigma=0).certify(_XA), ["'sigma'", "(0, inf)"],
                 id="SmoothedClassifier: zero sigma"),
    pytest.param(lambda: _robust("SmoothedClassifier")(_linear3(), alpha=1.0).predict(_XA), ["'alpha'", "(0, 1)"],
                 id="SmoothedClassifier: alpha of 1"),
    pytest.param(lambda: _robust("certified_accuracy")("cert", _YA), ["'certification'", "certify"],
                 id="certified_accuracy: not a certification"),
    pytest.param(lambda: _robust("adversarial_loss")(_linear3(), __import__("torch").rand(4, 4),
                                                     __import__("torch").tensor(_YA), _robust("PGD")(), kind="mart"),
                 ["'kind'", "'pgd'", "'trades'", "'mart'"], id="adversarial_loss: unknown kind"),
]


def _fitted_thresholds():
    return af.GroupThresholds().fit([.1, .9, .5, .3], [0, 1, 1, 0], sensitive_features=["a", "b", "a", "b"])


CASES_MITIGATION = [
    pytest.param(lambda: af.Reweighing().fit(np.zeros(4), [0, 1, 0, 1]), ["'sensitive_features'", "None"],
                 id="Reweighing: sensitive features missing"),
    pytest.param(lambda: af.Reweighing().fit(np.zeros(4), [0, 1, 0, 1], sensitive_features=["a", "b"]),
                 ["sensitive_features", "2", "4"], id="Reweighing: sensitive features of the wrong length"),
    pytest.param(lambda: af.Reweighing().fit(np.zeros(3), [0, 1, 0, 1], sensitive_features=list("abab")),
                 ["X", "3", "4"], id="Reweighing: X of the wrong length"),
    pytest.param(lambda: af.GroupThresholds(constraint="fair").fit([.1, .9], [0, 1], sensitive_features=["a", "b"]),
                 ["'constraint'", "fair"], id="GroupThresholds: unknown constraint"),
    pytest.param(lambda: af.GroupThresholds(tolerance=-0.1).fit([.1, .9], [0, 1], sensitive_features=["a", "b"]),
                 ["'tolerance'", "-0.1"], id="GroupThresholds: negative tolerance"),
    pytest.param(lambda: af.GroupThresholds(constraint="equalized_odds").fit(
        [.1, .9, .4, .6], [0, 1, 1, 1], sensitive_features=list("abab")), ["equalized_odds", "'b'", "negatives"],
                 id="GroupThresholds: equalized odds on a group without negatives"),
    pytest.param(lambda: af.GroupThresholds().fit([.1, .9], [0, 1]), ["'sensitive_features'", "fit"],
                 id="GroupThresholds: sensitive features missing at fit"),
    pytest.param(lambda: _fitted_thresholds().predict([.2]), ["'sensitive_features'", "predict"],
                 id="GroupThresholds: sensitive features missing at predict"),
    pytest.param(lambda: _fitted_thresholds().predict([.2, .4], sensitive_features=["a", "z"]),
                 ["'sensitive_features'", "'z'", "did not see"], id="GroupThresholds: group unseen at fit"),
    pytest.param(lambda: _fitted_thresholds().predict([.2, .4], sensitive_features=["a"]),
                 ["sensitive_features", "1", "2"], id="GroupThresholds: sensitive features of the wrong length"),
    pytest.param(lambda: af.GroupThresholds(objective=[[0, 5, 1], [1, 0, 2]]).fit(
        [.1, .9], [0, 1], sensitive_features=["a", "b"]), ["'objective'", "2x2"],
                 id="GroupThresholds: cost matrix of the wrong shape"),
    pytest.param(lambda: af.GroupThresholds().fit([.1, np.nan], [0, 1], sensitive_features=["a", "b"]),
                 ["'y_score'", "finite"], id="GroupThresholds: NaN score"),
    pytest.param(lambda: af.DisparateImpactRemover(repair_level=1.2).fit(np.zeros((4, 1)), sensitive_features=list("abab")),
                 ["'repair_level'", "1.2"], id="DisparateImpactRemover: repair level above 1"),
    pytest.param(lambda: af.DisparateImpactRemover().fit(np.zeros((4, 1)), sensitive_features=list("abab")).transform(
        np.zeros((2, 1)), sensitive_features=["a", "z"]), ["'sensitive_features'", "'z'", "did not see"],
                 id="DisparateImpactRemover: group unseen at fit"),
    pytest.param(lambda: af.DisparateImpactRemover().fit(np.array([[1.0], [np.nan]]), sensitive_features=["a", "b"]),
                 ["'X'", "finite"], id="DisparateImpactRemover: NaN feature"),
    pytest.param(lambda: af.GroupResampler().fit(np.zeros(4), [0, 1, 0, 1]), ["'sensitive_features'", "None"],
                 id="GroupResampler: sensitive features missing"),
    pytest.param(lambda: af.GroupResampler(balance="parity").fit(np.zeros(2), [0, 1], sensitive_features=["a", "b"]),
                 ["'balance'", "parity"], id="GroupResampler: unknown balance"),
    pytest.param(lambda: af.SensitiveFeatureRemover().fit(np.zeros((2, 2)), sensitive_features=["a", "b"]),
                 ["'X'", "DataFrame"], id="SensitiveFeatureRemover: X not a DataFrame"),
    pytest.param(lambda: af.ExponentiatedGradient(LogisticRegression(), constraint="fair").fit(
        np.zeros((4, 1)), [0, 1, 0, 1], sensitive_features=list("abab")), ["'constraint'", "fair"],
                 id="ExponentiatedGradient: unknown constraint"),
    pytest.param(lambda: af.ExponentiatedGradient(LogisticRegression()).fit(np.zeros((4, 1)), [0, 1, 0, 1]),
                 ["'sensitive_features'", "None"], id="ExponentiatedGradient: sensitive features missing"),
    pytest.param(lambda: af.compare_mitigations(LogisticRegression(), ["reweighing"], load_german_credit(),
                                                sensitive_features="sex"), ["'mitigations'", "reweighing"],
                 id="compare_mitigations: a name instead of a mitigation"),
    pytest.param(lambda: af.compare_mitigations(LogisticRegression(), [af.Reweighing()], load_german_credit(),
                                                sensitive_features="gender"), ["'sensitive_features'", "gender"],
                 id="compare_mitigations: unknown sensitive feature"),
    pytest.param(lambda: af.MinDiffLoss(["a", "b"], kernel_length=0), ["'kernel_length'", "0"],
                 id="MinDiffLoss: kernel length 0"),
    pytest.param(lambda: af.AdversarialDebiasing(torch.nn.Linear(2, 2)).fit(np.zeros((4, 2)), [0, 1, 0, 1]),
                 ["'sensitive_features'", "None"], id="AdversarialDebiasing: sensitive features missing"),
    pytest.param(lambda: af.RejectOptionClassifier(constraint="equalized_odds").fit([.1, .9], [0, 1],
                                                                                    sensitive_features=["a", "b"]),
                 ["'constraint'", "equalized_odds"], id="RejectOptionClassifier: unknown constraint"),
    pytest.param(lambda: af.RejectOptionClassifier(tolerance=1.5).fit([.1, .9], [0, 1], sensitive_features=["a", "b"]),
                 ["'tolerance'", "1.5"], id="RejectOptionClassifier: tolerance above 1"),
    pytest.param(lambda: af.RejectOptionClassifier(widths=[0.1, -0.2]).fit([.1, .9], [0, 1],
                                                                           sensitive_features=["a", "b"]),
                 ["'widths'", ">= 0"], id="RejectOptionClassifier: a negative width"),
    pytest.param(lambda: af.RejectOptionClassifier(threshold=np.nan).fit([.1, .9], [0, 1],
                                                                         sensitive_features=["a", "b"]),
                 ["'threshold'"], id="RejectOptionClassifier: NaN threshold"),
    pytest.param(lambda: af.RejectOptionClassifier().fit([.1, .9], [0, 1]), ["'sensitive_features'", "fit"],
                 id="RejectOptionClassifier: sensitive features missing at fit"),
    pytest.param(lambda: af.RejectOptionClassifier().fit([.1, .9, .4, .6], [0, 1, 0, 1], sensitive_features=list(
        "abab")).predict([.2]), ["'sensitive_features'", "predict"],
                 id="RejectOptionClassifier: sensitive features missing at predict"),
    pytest.param(lambda: af.RejectOptionClassifier().fit([.1, .9, .4, .6], [0, 1, 0, 1], sensitive_features=list(
        "abab")).predict([.2, .4], sensitive_features=["a", "z"]), ["'sensitive_features'", "'z'", "did not see"],
                 id="RejectOptionClassifier: group unseen at fit"),
    pytest.param(lambda: af.RejectOptionClassifier().fit([.1, np.inf], [0, 1], sensitive_features=["a", "b"]),
                 ["'y_score'", "finite"], id="RejectOptionClassifier: infinite score"),
    pytest.param(lambda: af.RejectOptionClassifier().fit([.1, .9], [0, 2], sensitive_features=["a", "b"]),
                 ["'y'", "binary", "2"], id="RejectOptionClassifier: labels not in {0, 1}"),
    pytest.param(lambda: af.RejectOptionClassifier(constraint="equal_opportunity").fit(
        [.1, .9, .4, .6], [0, 1, 0, 0], sensitive_features=list("abab")), ["equal_opportunity", "'a'", "positives"],
                 id="RejectOptionClassifier: equal opportunity on a group without positives"),
    pytest.param(lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5, 1], [1, 0, 2]]).fit(),
                 ["'cost_matrix'", "2x2"], id="CostSensitiveThreshold: cost matrix of the wrong shape"),
    pytest.param(lambda: af.CostSensitiveThreshold(cost_matrix=[[0, np.nan], [1, 0]]).fit(),
                 ["'cost_matrix'", "finite"], id="CostSensitiveThreshold: NaN cost"),
    pytest.param(lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]], method="empirical").fit(),
                 ["'y_score'", "'y'", "empirical"], id="CostSensitiveThreshold: empirical without data"),
    pytest.param(lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]], method="empirical").fit(
        [.2, .8], [1, 1]), ["'y'", "both classes"], id="CostSensitiveThreshold: empirical on one class"),
    pytest.param(lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]], method="bayesian").fit(),
                 ["'method'", "bayesian"], id="CostSensitiveThreshold: unknown method"),
    pytest.param(lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]]).predict([0.5]),
                 ["CostSensitiveThreshold", "not fitted"], id="CostSensitiveThreshold: predict before fit"),
    pytest.param(lambda: af.MinDiffClassifier(epochs=1).fit(np.zeros((4, 2)), [0, 1, 0, 1]),
                 ["'sensitive_features'", "None"], id="MinDiffClassifier: sensitive features missing"),
    pytest.param(lambda: af.MinDiffClassifier("net").fit(np.zeros((4, 2)), [0, 1, 0, 1],
                                                         sensitive_features=list("abab")),
                 ["'module'", "torch.nn.Module"], id="MinDiffClassifier: module not a torch module"),
]


def _explain(name):
    import importlib

    import assay.explain

    return importlib.import_module(f"assay.explain.{name}") if name in ("evaluate", "importance") else getattr(
        assay.explain, name)


_XE = np.full((4, 4), 0.5)

CASES_EXPLAIN = [
    pytest.param(lambda: _explain("IntegratedGradients")(_linear3()).attribute(_XE, target=3),
                 ["'target'", "[0, 2]", "3"], id="IntegratedGradients: a target the model does not have"),
    pytest.param(lambda: _explain("Saliency")(_linear3()).attribute(_XE, target=np.array([0, 1])),
                 ["'target'", "(4,)"], id="Saliency: targets of the wrong length"),
    pytest.param(lambda: _explain("IntegratedGradients")(_linear3()).attribute(_XE, baselines=np.zeros((2, 4))),
                 ["'baselines'", "(4,)", "(4, 4)", "(2, 4)"], id="IntegratedGradients: baselines of another shape"),
    pytest.param(lambda: _explain("IntegratedGradients")(_linear3()).attribute(_XE, n_steps=0),
                 ["'n_steps'", "IntegratedGradients", "[1, inf)"], id="IntegratedGradients: zero steps"),
    pytest.param(lambda: _explain("IntegratedGradients")(_linear3(), method="simpson").attribute(_XE),
                 ["'method'", "'gausslegendre'", "'simpson'"], id="IntegratedGradients: unknown method"),
    pytest.param(lambda: _explain("InputXGradient")(LogisticRegression().fit(_XE + np.eye(4), [0, 1, 0, 1]))
                 .attribute(_XE), ["'model'", "torch", "LogisticRegression"],
                 id="InputXGradient: a scikit-learn model"),
    pytest.param(lambda: _explain("Saliency")(_linear3(), batch_size=0).attribute(_XE), ["'batch_size'", "Saliency"],
                 id="Saliency: zero batch_size"),
    pytest.param(lambda: _explain("Saliency")(_linear3()).attribute(_XE, n_step=5), ["n_step"],
                 id="Saliency: an unknown keyword"),
    pytest.param(lambda: _explain("NoiseTunnel")(_linear3()).attribute(_XE), ["'explainer'", "Saliency(model)"],
                 id="NoiseTunnel: a model instead of an explainer"),
    pytest.param(lambda: _explain("NoiseTunnel")(_explain("Saliency")(_linear3()), nt_samples=0).attribute(_XE),
                 ["'nt_samples'", "NoiseTunnel"], id="NoiseTunnel: zero samples"),
    pytest.param(lambda: _explain("Occlusion")(_linear3(), sliding_window_shapes=(5,)).attribute(_XE),
                 ["'sliding_window_shapes'", "(4,)", "(5,)"], id="Occlusion: a window larger than the input"),
    pytest.param(lambda: _explain("Occlusion")(_linear3(), strides=(1, 1)).attribute(_XE),
                 ["'strides'", "1 ints"], id="Occlusion: strides for the wrong number of dimensions"),
    pytest.param(lambda: _explain("Occlusion")(_linear3()).attribute(_XE, baselines=np.zeros(3)),
                 ["'baselines'", "(4,)", "(3,)"], id="Occlusion: baselines of another shape"),
    pytest.param(lambda: _explain("KernelSHAP")(_linear3()).attribute(_XE, target=5),
                 ["'target'", "[0, 2]", "5"], id="KernelSHAP: a target the model does not have"),
    pytest.param(lambda: _explain("KernelSHAP")(_linear3()).attribute(_XE, baselines=np.zeros((3, 5))),
                 ["'baselines'", "(4,)", "(3, 5)"], id="KernelSHAP: a background set of another width"),
    pytest.param(lambda: _explain("KernelSHAP")(_linear3()).attribute(
        pd.DataFrame(_XE, columns=list("abcd")), baselines=pd.DataFrame(_XE, columns=list("abce"))),
        ["'baselines'", "columns", "'e'"], id="KernelSHAP: a background set with other columns"),
    pytest.param(lambda: _explain("KernelSHAP")(_linear3(), feature_groups={"a": ["a"]}).attribute(
        pd.DataFrame(_XE, columns=list("abcd"))), ["'feature_groups'", "'b'"],
        id="KernelSHAP: feature groups that miss columns"),
    pytest.param(lambda: _explain("LIME")(_linear3(), kernel_width=0.0).attribute(_XE),
                 ["'kernel_width'", "LIME"], id="LIME: zero kernel width"),
    pytest.param(lambda: _explain("GradCAM")(_linear3(), layer="conv9").attribute(_XE),
                 ["'layer'", "'conv9'"], id="GradCAM: a layer that does not exist"),
    pytest.param(lambda: _explain("GradientShap")(_linear3(), n_samples=0).attribute(_XE),
                 ["'n_samples'", "GradientShap"], id="GradientShap: zero samples"),
    pytest.param(lambda: _explain("GradientShap")(_linear3()).attribute(_XE, baselines=np.zeros((2, 3))),
                 ["'baselines'", "(2, 3)"], id="GradientShap: a background set of another width"),
    pytest.param(lambda: _explain("DeepLift")(_linear3()).attribute(_XE, target=-1),
                 ["'target'", "[0, 2]", "-1"], id="DeepLift: a negative target"),
    pytest.param(lambda: _explain("evaluate").randomization_test(_explain("Saliency")(_linear3()), _XE,
                                                                 layers=["fc9"]),
                 ["'layers'", "'fc9'"], id="randomization_test: a layer that does not exist"),
    pytest.param(lambda: _explain("evaluate").deletion_insertion(_linear3(), _XE, np.zeros((4, 3))),
                 ["'attribution'", "(4, 4)"], id="deletion_insertion: attributions of another shape"),
    pytest.param(lambda: _explain("importance").permutation_importance(_linear3(), _XE, [0, 1, 0, 1],
                                                                       n_repeats=0),
                 ["'n_repeats'", "permutation_importance"], id="permutation_importance: zero repeats"),
    # superpixels, per-image segments, surrogate tree, DeepLift pooling/softmax
    pytest.param(lambda: _explain("superpixels")(np.zeros((8, 8)), n_segments=0), ["'n_segments'", "superpixels"],
                 id="superpixels: zero segments"),
    pytest.param(lambda: _explain("superpixels")(np.full((8, 8), np.nan)), ["'image'", "finite"],
                 id="superpixels: an image of NaN"),
    pytest.param(lambda: _explain("superpixels")(np.zeros((2, 8, 8)), channel_axis=1), ["'channel_axis'", "1"],
                 id="superpixels: a channel axis in the middle"),
    pytest.param(lambda: _explain("LIME")(_linear3(), feature_groups="superpixels").attribute(_XE),
                 ["'feature_groups'", "'inputs'", "(n, H, W)"], id="LIME: superpixels of a table"),
    pytest.param(lambda: _explain("LIME")(lambda x: np.zeros((len(x), 2)), feature_groups=lambda img: np.zeros(3))
                 .attribute(np.zeros((2, 1, 4, 4))), ["'feature_groups'", "(1, 4, 4)"],
                 id="LIME: a segmentation callable returning another shape"),
    pytest.param(lambda: _explain("KernelSHAP")(_linear3(), feature_groups="patches").attribute(_XE),
                 ["'feature_groups'", "'patches'"], id="KernelSHAP: an unknown feature_groups word"),
    pytest.param(lambda: _explain("surrogate_tree")(LogisticRegression().fit(_XE + np.eye(4), [0, 1, 0, 1]), _XE,
                                                    max_depth=0), ["'max_depth'", "surrogate_tree"],
                 id="surrogate_tree: depth 0"),
    pytest.param(lambda: _explain("surrogate_tree")(LogisticRegression().fit(_XE + np.eye(4), [0, 1, 0, 1]), _XE,
                                                    test_size=0.0), ["'test_size'", "surrogate_tree"],
                 id="surrogate_tree: nothing held out"),
    pytest.param(lambda: _explain("surrogate_tree")(LogisticRegression().fit(_XE + np.eye(4), [0, 1, 0, 1]),
                                                    _XE[:3]), ["'X'", "3 rows"], id="surrogate_tree: too few rows"),
    pytest.param(lambda: _explain("DeepLift")(_linear3(), maxpool="avg").attribute(_XE),
                 ["'maxpool'", "'avg'"], id="DeepLift: an unknown max-pooling rule"),
    pytest.param(lambda: _explain("DeepLift")(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(1)))
                 .attribute(_XE), ["'model'", "softmax"], id="DeepLift: a softmax module"),
]


CASES_COUNTERFACTUALS = [
    pytest.param(lambda: _explain("Counterfactuals")(_tabular_model(), immutable=["sex"]).generate(_XT),
                 ["'immutable'", "sex"], id="Counterfactuals: an immutable feature not in the data"),
    pytest.param(lambda: _explain("Counterfactuals")(_tabular_model(), desired=9).generate(_XT),
                 ["'desired'", "9", "classes"], id="Counterfactuals: a desired class the model does not have"),
    pytest.param(lambda: _explain("Counterfactuals")(_tabular_model(), monotone={"b": "increasing"}).generate(_XT),
                 ["'monotone'", "'b'", "order"], id="Counterfactuals: monotone on unordered categories"),
    pytest.param(lambda: _explain("Counterfactuals")(_tabular_model(), radii=[0.5, -1]).generate(_XT),
                 ["'radii'", "positive"], id="Counterfactuals: a negative search radius"),
    pytest.param(lambda: _explain("sensitive_flip_rate")(_tabular_model(), _XT, "sex"), ["'sensitive'", "sex"],
                 id="sensitive_flip_rate: a sensitive column not in X"),
    pytest.param(lambda: _explain("recourse_cost")(_tabular_model(), _XT, sensitive_features=_XT[["b"]],
                                                   favorable="yes"), ["'favorable'", "'yes'"],
                 id="recourse_cost: a favourable class the model does not have"),
]



# ---------------------------------------------------------------------------------------- risk wrappers (issue 19)
def _risk(name):
    import assay.uncertainty.wrappers as wrappers

    return getattr(wrappers, name)


def _risk_net():
    return torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


_XR = np.zeros((4, 2), dtype=np.float32)

CASES_RISK = [
    pytest.param(lambda: _risk("MCDropout")(_risk_net(), n_samples=1), ["'n_samples'", "MCDropout", "[2, inf)"],
                 id="MCDropout: one sample"),
    pytest.param(lambda: _risk("MCDropout")(_risk_net(), p=1.0), ["'p'", "MCDropout", "(0, 1)"],
                 id="MCDropout: p = 1"),
    pytest.param(lambda: _risk("MCDropout")(torch.nn.ReLU()), ["'model'", "no parameters"],
                 id="MCDropout: a model without parameters"),
    pytest.param(lambda: _risk("MCDropout")(_risk_net(), layers=["fc7"]), ["'layers'", "'fc7'", "Expected one of"],
                 id="MCDropout: an unknown layer"),
    pytest.param(lambda: _risk("DeepEnsemble")(_risk_net, n_members=1), ["'n_members'", "[2, inf)"],
                 id="DeepEnsemble: one member"),
    pytest.param(lambda: _risk("DeepEnsemble")(lambda: torch.nn.ReLU()), ["'factory()'", "no parameters"],
                 id="DeepEnsemble: members without parameters"),
    pytest.param(lambda: _risk("MeanVariance")(_risk_net(), task="ranking"), ["'task'", "'regression'"],
                 id="MeanVariance: unknown task"),
    pytest.param(lambda: _risk("fit_risk_model")(_risk("MeanVariance")(_risk_net(), task="classification"),
                                                 (_XR, np.zeros(4)), task="regression"),
                 ["'task'", "classification", "task='regression'"],
                 id="fit_risk_model: regression variance from a classification wrapper"),
    pytest.param(lambda: _risk("MeanVariance")(_risk("MeanVariance")(_risk_net())), ["'model'", "plain network"],
                 id="MeanVariance: wrapping a wrapper"),
    pytest.param(lambda: _risk("HistogramBias")(_risk_net(), layer="penultimate"), ["'layer'", "'penultimate'"],
                 id="HistogramBias: an unknown layer"),
    pytest.param(lambda: _risk("HistogramBias")(_risk_net(), layer="1").log_density(_XR), ["HistogramBias", "fit"],
                 id="HistogramBias: scoring before fit"),
    pytest.param(lambda: _risk("VAEEpistemic")(_risk_net(), layer="1", latent_dim=0), ["'latent_dim'", "[1, inf)"],
                 id="VAEEpistemic: zero latent dimensions"),
    pytest.param(lambda: _risk("VAEEpistemic")(_risk_net(), layer="1")(torch.zeros(2, 2)), ["VAEEpistemic", "fit"],
                 id="VAEEpistemic: called before fit"),
    pytest.param(lambda: _risk("fit_risk_model")(_risk("MCDropout")(_risk_net()), (_XR, np.zeros(3))),
                 ["X", "y", "4", "3"], id="fit_risk_model: X and y of different lengths"),
    pytest.param(lambda: _risk("fit_risk_model")(_risk("MCDropout")(_risk_net()), (_XR, np.zeros(4)), epochs=0),
                 ["'epochs'", "fit_risk_model"], id="fit_risk_model: zero epochs"),
    pytest.param(lambda: _risk("fit_risk_model")(_risk("MCDropout")(_risk_net()), "data"), ["'data'", "(X, y)"],
                 id="fit_risk_model: data that is not (X, y) or batches"),
    pytest.param(lambda: _risk("fit_risk_model")(_risk_net(), (_XR, np.zeros(4)), resample="density"),
                 ["'resample'", "RepresentationResampler"], id="fit_risk_model: unknown resampling"),
    pytest.param(lambda: _risk("RepresentationResampler")(n_bins=0).fit(_XR), ["'n_bins'", "RepresentationResampler"],
                 id="RepresentationResampler: zero bins"),
    pytest.param(lambda: _risk("risk_by_decile")(np.arange(5.0), np.ones(4)), ["risk", "correct", "5", "4"],
                 id="risk_by_decile: risk and correct of different lengths"),
    pytest.param(lambda: _risk("risk_by_group")({"bias": [0.0, np.nan]}, ["a", "b"]), ["'risks['bias']'", "finite"],
                 id="risk_by_group: a NaN risk"),
]

# --- monitoring (issue 18) -------------------------------------------------------------------------------------
_REF_M = pd.DataFrame({"x": np.arange(6.0), "c": list("abcabc"), "g": list("uvuvuv")})


def _monitor(name):
    import importlib

    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"assay.monitor.{module}"), attr)


def _old_profile():
    record = json.loads(_monitor("profile.Profile").fit(_REF_M).to_json())
    record["assay_version"] = "0.0.1"
    return json.dumps(record)


CASES_MONITOR = [
    pytest.param(lambda: _monitor("drift.drift_report")(_REF_M, _REF_M.drop(columns="c").assign(y=1)),
                 ["'current'", "Missing column(s) ['c']", "Unexpected column(s) ['y']"],
                 id="drift_report: columns differ between reference and current"),
    pytest.param(lambda: _monitor("drift.drift_report")(_REF_M, _REF_M.iloc[:0]), ["'current'", "at least 1 row"],
                 id="drift_report: an empty window"),
    pytest.param(lambda: _monitor("drift.drift_report")(_REF_M, _REF_M.assign(x=list("abcdef"))),
                 ["'current'", "'x'", "numeric"], id="drift_report: a column of another kind"),
    pytest.param(lambda: _monitor("drift.drift_report")(_REF_M, _REF_M, sensitive_features="sex"),
                 ["'sensitive_features'", "'sex'"], id="drift_report: a sensitive feature that is not a column"),
    pytest.param(lambda: _monitor("drift.drift_report")(_REF_M, _REF_M, correction="bonferroni"),
                 ["'correction'", "'holm'", "'bonferroni'"], id="drift_report: unknown correction"),
    pytest.param(lambda: _monitor("performance.time_windows")(np.arange(3.0)), ["'time'", "dates", "float64"],
                 id="time_windows: a time column of numbers"),
    pytest.param(lambda: _monitor("performance.time_windows")(["monday", "tuesday"]), ["'time'", "dates", "monday"],
                 id="time_windows: a time column of words"),
    pytest.param(lambda: _monitor("run.run_monitor")(_REF_M, _REF_M, time_column="when"),
                 ["'time_column'", "'when'"], id="run_monitor: a time column that is not there"),
    pytest.param(lambda: _monitor("profile.Profile").from_json(_old_profile()),
                 ["'profile'", "assay '0.0.1'", "Fit the profile again"], id="Profile.from_json: another assay version"),
    pytest.param(lambda: _monitor("profile.Profile").from_json('{"schema": "evidently"}'),
                 ["'profile'", "schema", "'evidently'"], id="Profile.from_json: another schema"),
    pytest.param(lambda: _monitor("profile.Profile").fit(_REF_M).merge(_monitor("profile.Profile").fit(_REF_M[["x"]])),
                 ["'other'", "same columns"], id="Profile.merge: profiles of different columns"),
    pytest.param(lambda: _monitor("multivariate.mmd_test")(_REF_M, _REF_M, n_permutations=0),
                 ["'n_permutations'", "mmd_test"], id="mmd_test: zero permutations"),
    pytest.param(lambda: _monitor("charts.ewma_chart")([1.0, 2.0, 3.0], n_reference=5),
                 ["'n_reference'", "3"], id="ewma_chart: a reference period longer than the series"),
    pytest.param(lambda: _monitor("performance.estimate_performance")([[0.5, 0.5]], [0], np.empty((0, 2))),
                 ["'current_proba'"], id="estimate_performance: an empty current window"),
]



# ---------------------------------------------------------------------------------------------
# Data privacy (issue 17 items 5-7): k-anonymity, l-diversity, t-closeness, generalize, PII, DP
# ---------------------------------------------------------------------------------------------


def _privacy(name):
    import assay.privacy

    return getattr(assay.privacy, name)


_QI = pd.DataFrame({"age": [20, 20, 30, 30], "zip": ["a", "a", "b", "b"], "disease": ["x", "y", "x", "x"]})

CASES_PRIVACY_DATA = [
    pytest.param(lambda: _privacy("k_anonymity")(_QI, ["age", "zipcode"]), ["'quasi_identifiers'", "'zipcode'"],
                 id="k_anonymity: a quasi-identifier column that does not exist"),
    pytest.param(lambda: _privacy("k_anonymity")(_QI, ["age"], k=0), ["'k'", "k_anonymity", "[1, inf)"],
                 id="k_anonymity: k < 1"),
    pytest.param(lambda: _privacy("k_anonymity")(_QI.to_numpy(), ["age"]), ["'frame'", "DataFrame"],
                 id="k_anonymity: an array instead of a DataFrame"),
    pytest.param(lambda: _privacy("l_diversity")(_QI, ["age"], "age"), ["'sensitive'", "'quasi_identifiers'"],
                 id="l_diversity: the sensitive column is a quasi-identifier"),
    pytest.param(lambda: _privacy("t_closeness")(_QI, ["age"], "disease", t=-0.1), ["'t'", "t_closeness"],
                 id="t_closeness: t < 0"),
    pytest.param(lambda: _privacy("generalize")(_QI, ["age"], k=5), ["'k'", "only 4 row"],
                 id="generalize: k larger than the table (cannot be reached)"),
    pytest.param(lambda: _privacy("generalize")(_QI, ["ages"], k=2), ["'quasi_identifiers'", "'ages'"],
                 id="generalize: a quasi-identifier column that does not exist"),
    pytest.param(lambda: _privacy("scan_pii")(42), ["'data'", "scan_pii"], id="scan_pii: a number"),
    pytest.param(lambda: _privacy("scan_pii")(["x"], kinds=["passport"]), ["'kinds'", "'passport'"],
                 id="scan_pii: an unknown kind"),
    pytest.param(lambda: _privacy("laplace_mechanism")([1.0], sensitivity=1, epsilon=0),
                 ["'epsilon'", "laplace_mechanism"], id="laplace_mechanism: epsilon = 0"),
    pytest.param(lambda: _privacy("gaussian_mechanism")([1.0], sensitivity=1, epsilon=1, delta=1.5),
                 ["'delta'", "gaussian_sigma"], id="gaussian_mechanism: delta >= 1"),
    pytest.param(lambda: _privacy("randomized_response")(["a", "b"], epsilon=-1), ["'epsilon'"],
                 id="randomized_response: epsilon < 0"),
    pytest.param(lambda: _privacy("private_group_metrics")([0, 1], [1, 0], sensitive_features=["a", "b"],
                                                           epsilon=0), ["'epsilon'", "private_group_metrics"],
                 id="private_group_metrics: epsilon = 0"),
]



def _privacy(name):
    import assay.privacy

    return getattr(assay.privacy, name)


def _tiny_torch():
    import torch

    torch.manual_seed(0)
    return torch.nn.Linear(4, 2)


_XP = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
_YP = np.arange(20) % 2


def _tiny_sklearn():
    return LogisticRegression().fit(_XP, _YP)


CASES_PRIVACY = [
    pytest.param(lambda: _privacy("train_private")(_tiny_torch(), (_XP, _YP), epsilon=1.0, delta=1 / 20),
                 ["'delta'", "1/n", "20"], id="train_private: delta >= 1/n"),
    pytest.param(lambda: _privacy("train_private")(_tiny_torch(), (_XP, _YP), epsilon=0.0),
                 ["'epsilon'", "> 0"], id="train_private: epsilon <= 0"),
    pytest.param(lambda: _privacy("train_private")(_tiny_torch(), (_XP, _YP), epsilon=float("nan")),
                 ["'epsilon'"], id="train_private: epsilon NaN"),
    pytest.param(lambda: _privacy("train_private")(_tiny_sklearn(), (_XP, _YP), epsilon=1.0),
                 ["'model'", "nn.Module"], id="train_private: a scikit-learn model"),
    pytest.param(lambda: _privacy("train_private")(_tiny_torch(), (_XP, _YP[:5]), epsilon=1.0),
                 ["'X'", "'y'", "20", "5"], id="train_private: X and y of different lengths"),
    pytest.param(lambda: _privacy("attack_report")(np.arange(5.0), [True, False, True]),
                 ["'is_member'", "5", "3"], id="attack_report: a member mask of the wrong length"),
    pytest.param(lambda: _privacy("attack_report")(np.arange(3.0), [1, 1, 1]),
                 ["'is_member'", "one non-member"], id="attack_report: no non-member"),
    pytest.param(lambda: _privacy("evaluate_attack")([], [0.1]), ["'member_scores'", "at least 1"],
                 id="evaluate_attack: no member scores"),
    pytest.param(lambda: _privacy("evaluate_attack")([0.1, np.nan], [0.1]), ["'member_scores'"],
                 id="evaluate_attack: NaN score"),
    pytest.param(lambda: _privacy("evaluate_attack")([0.1, 0.2], [0.1], ["a", "b"]),
                 ["'sensitive_features'", "3"], id="evaluate_attack: groups of the wrong length"),
    pytest.param(lambda: _privacy("evaluate_attack")([0.1], [0.2], fpr_levels=[0.0]), ["'fpr_levels'", "(0, 1)"],
                 id="evaluate_attack: FPR level 0"),
    pytest.param(lambda: _privacy("loss_attack")(_tiny_sklearn(), _XP, np.full(20, 3)), ["'y'", "class indices"],
                 id="loss_attack: labels outside the classes"),
    pytest.param(lambda: _privacy("LiRA")(_tiny_sklearn(), n_reference=0).fit(_XP, _YP), ["'n_reference'", "LiRA"],
                 id="LiRA: no reference model"),
    pytest.param(lambda: _privacy("LiRA")(_tiny_sklearn(), train_fn="fit").fit(_XP, _YP), ["'train_fn'", "LiRA"],
                 id="LiRA: a training function that is not callable"),
    pytest.param(lambda: _privacy("attribute_inference")(_tiny_sklearn(), _XP, {"a": _YP[:5]}),
                 ["'sensitive_features'", "20", "5"], id="attribute_inference: groups of the wrong length"),
]


def _probe_model():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


_XP = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)

CASES_PROBES = [
    pytest.param(lambda: _explain("LinearProbe")(_probe_model(), layers=["7"]).fit(_XP, np.arange(20) % 2),
                 ["'7'"], id="LinearProbe: a layer that does not exist"),
    pytest.param(lambda: _explain("LinearProbe")(_probe_model(), layers=["1"]).fit(_XP, np.zeros(20)),
                 ["'property'", "two values"], id="LinearProbe: a probe target with one class"),
    pytest.param(lambda: _explain("LinearProbe")(_probe_model(), layers=["1"]).fit(_XP, np.arange(5) % 2),
                 ["property", "20", "5"], id="LinearProbe: a target of the wrong length"),
    pytest.param(lambda: _explain("LinearProbe")(layers=["fc9"]).fit({"fc1": _XP}, np.arange(20) % 2),
                 ["'layers'", "'fc9'", "fc1"], id="LinearProbe: a layer the precomputed activations lack"),
    pytest.param(lambda: _explain("LinearProbe")().fit({"fc1": _XP[:7]}, np.arange(20) % 2),
                 ["'X'", "'fc1'", "7", "20"], id="LinearProbe: activations of the wrong length"),
    pytest.param(lambda: _explain("LinearProbe")().fit(_XP, np.arange(20) % 2),
                 ["'X'", "map layer names"], id="LinearProbe: no model and no activations"),
    pytest.param(lambda: _explain("LinearProbe")("bert").fit(["a", "b", "c", "d"], [0, 1, 0, 1]),
                 ["'model'", "'minilm'", "'bert'"], id="LinearProbe: an unknown text encoder"),
    pytest.param(lambda: _explain("LinearProbe")("minilm", layers=["encoder.layer.6"]).fit(
        ["a", "b", "c", "d"], [0, 1, 0, 1]), ["'layers'", "encoder.layer.6"], id="LinearProbe: a MiniLM layer past 5"),
    pytest.param(lambda: _explain("Counterfactuals")(_tabular_model(), method="gradient").generate(_XT),
                 ["'method'", "torch"], id="Counterfactuals: the gradient method on a scikit-learn model"),
    pytest.param(lambda: _explain("Counterfactuals")(_probe_model(), method="newton").generate(
        pd.DataFrame(_XP, columns=list("abcd"))), ["'method'", "newton"], id="Counterfactuals: an unknown method"),
]

# --- generaliser targets l / t (issue 17), text-column drift (issue 18) ------------------------------------------

CASES_TARGETS_TEXT = [
    pytest.param(lambda: _privacy("generalize")(_QI, ["age"], k=2, sensitive="disease", l=3),
                 ["'l'", "only 2 distinct"], id="generalize: l above the sensitive column's distinct values"),
    pytest.param(lambda: _privacy("generalize")(_QI, ["age"], k=2, t=0.2), ["'sensitive'"],
                 id="generalize: t without sensitive columns"),
    pytest.param(lambda: _monitor("drift.drift_report")(_REF_M, _REF_M, text_columns="review",
                                                        embed=lambda t: np.zeros((len(t), 2))),
                 ["'text_columns'", "'review'"], id="drift_report: a text column that does not exist"),
    pytest.param(lambda: _monitor("distributed.run_monitor_dask")(_monitor("profile.Profile").fit(_REF_M), _REF_M),
                 ["'current'", "Dask DataFrame"], id="run_monitor_dask: a pandas frame as current"),
]



# --- feature visualization, prototypes and criticisms (issue 20, items 2 and 3) ------------------------------------
def _viz_cnn():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(72, 3))


def _viz(**kwargs):
    return _explain("FeatureVisualization")(_viz_cnn(), **{"input_shape": (1, 8, 8), "steps": 1, **kwargs})


_XV = np.random.default_rng(0).normal(size=(10, 3))

CASES_VISUALIZATION = [
    pytest.param(lambda: _viz(objective="channel", layer="conv9").visualize([0]), ["'layer'", "'conv9'"],
                 id="FeatureVisualization: a layer that does not exist"),
    pytest.param(lambda: _viz().visualize([3]), ["'target'", "[0, 2]", "3"],
                 id="FeatureVisualization: a class the model does not have"),
    pytest.param(lambda: _viz(objective="channel", layer="1").visualize([-1]), ["'target'", "channels", "[0, 1]"],
                 id="FeatureVisualization: a channel the layer does not have"),
    pytest.param(lambda: _viz(objective="direction", layer="1").visualize(np.ones(5)), ["'target'", "72", "2"],
                 id="FeatureVisualization: a direction of the wrong length"),
    pytest.param(lambda: _viz(steps=0).visualize([0]), ["'steps'", "FeatureVisualization", "[1, inf)"],
                 id="FeatureVisualization: steps < 1"),
    pytest.param(lambda: _viz(objective="neuron").visualize([0]), ["'layer'", "'neuron'"],
                 id="FeatureVisualization: a layer objective without a layer"),
    pytest.param(lambda: _viz(input_shape=()).visualize([0]), ["'input_shape'"],
                 id="FeatureVisualization: no input shape"),
    pytest.param(lambda: _viz(input_shape=(1, 5, 5)).visualize([0]), ["'input_shape'", "(1, 5, 5)"],
                 id="FeatureVisualization: an input shape the model cannot take"),
    pytest.param(lambda: _viz(clip=(1.0, 0.0)).visualize([0]), ["'clip'", "low < high"],
                 id="FeatureVisualization: an empty clip range"),
    pytest.param(lambda: _viz(scales=(0.0,)).visualize([0]), ["'scales'", "> 0"],
                 id="FeatureVisualization: a zero scale"),
    pytest.param(lambda: _viz(objective="fancy").visualize([0]), ["'objective'", "'log_prob'"],
                 id="FeatureVisualization: an unknown objective"),
    pytest.param(lambda: _explain("FeatureVisualization")(LogisticRegression().fit(_XV, np.arange(10) % 2),
                                                          input_shape=(3,)).visualize([0]),
                 ["'model'", "torch"], id="FeatureVisualization: a scikit-learn model"),
    pytest.param(lambda: _explain("naturalness")(_viz_cnn(), np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 8, 8)),
                                                 [0, 1], layers=["9"], target=[0]), ["'layer'", "'9'"],
                 id="naturalness: a layer that does not exist"),
    pytest.param(lambda: _explain("naturalness")(_viz_cnn(), np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 8, 8)),
                                                 [0, 1], layers=["1"], target=[2]), ["'y'", "[2]"],
                 id="naturalness: a target class without real examples"),
    pytest.param(lambda: _explain("MMDCritic")(n_prototypes=0).fit(_XV), ["'n_prototypes'", "MMDCritic", "[1, inf)"],
                 id="MMDCritic: n_prototypes < 1"),
    pytest.param(lambda: _explain("MMDCritic")(n_prototypes=11, n_criticisms=0).fit(_XV),
                 ["'n_prototypes'", "10 row"], id="MMDCritic: more prototypes than rows"),
    pytest.param(lambda: _explain("MMDCritic")(n_criticisms=-1).fit(_XV), ["'n_criticisms'", "[0, inf)"],
                 id="MMDCritic: negative n_criticisms"),
    pytest.param(lambda: _explain("MMDCritic")(2, 1).fit(_XV, np.arange(10) % 5), ["'n_prototypes'", "class"],
                 id="MMDCritic: a class with fewer rows than prototypes + criticisms"),
    pytest.param(lambda: _explain("MMDCritic")(gamma=-1.0).fit(_XV), ["'gamma'", "MMDCritic"],
                 id="MMDCritic: a negative gamma"),
    pytest.param(lambda: _explain("MMDCritic")(2, 1).fit(_XV, sensitive_features=np.zeros(4)),
                 ["sensitive_features", "4", "10"], id="MMDCritic: groups of the wrong length"),
    pytest.param(lambda: _explain("MMDCritic")(1, 0, model=_probe_model(), layer="5").fit(_XP),
                 ["'layer'", "'5'"], id="MMDCritic: an embedding layer that does not exist"),
]


@pytest.mark.parametrize("call, words", [*CASES_AUDIT, *CASES_COMPONENTS, *CASES_DOCUMENTS, *CASES_INPUTS, *CASES_METRICS,
                                         *CASES_NAMES, *CASES_HEADLINE, *CASES_CONFORMAL,
                                         *CASES_CALIBRATION_METRICS, *CASES_RECALIBRATION, *CASES_REGRESSION,
                                         *CASES_ROBUSTNESS_CORRUPTIONS, *CASES_ROBUSTNESS_ATTACKS,
                                         *CASES_MITIGATION, *CASES_EXPLAIN, *CASES_COUNTERFACTUALS,
                                         *CASES_RISK,
                                         *CASES_MONITOR,
                                         *CASES_PRIVACY_DATA,
                                         *CASES_PRIVACY, *CASES_PROBES, *CASES_VISUALIZATION,
                                         *CASES_TARGETS_TEXT])
def test_refused(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in the message: {info.value}"
