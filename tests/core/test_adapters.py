"""Adapters give the model's own numbers, batch-size invariant, computed once per data split."""

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

import assay
from assay import AssayInputError, NotFittedError
from assay.core.adapters import CallableAdapter, SklearnAdapter, TorchAdapter


class CountingNet(torch.nn.Module):
    """A small MLP with dropout and named layers that counts its forward calls."""

    def __init__(self, n_in=5, n_out=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU())
        self.dropout = torch.nn.Dropout(0.5)
        self.penultimate = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU())
        self.head = torch.nn.Linear(8, n_out)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.head(self.penultimate(self.dropout(self.body(x))))


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(103, 5)).astype(np.float32)


def direct_logits(model, X):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(X))


# ---------------------------------------------------------------------- torch
def test_torch_adapter_matches_direct_call(X):
    model = CountingNet()
    adapter = assay.wrap(model)
    assert isinstance(adapter, TorchAdapter)
    expected = direct_logits(CountingNet(), X)
    assert_array_equal(adapter.logits(X), expected.numpy())
    assert_allclose(adapter.predict_proba(X), torch.softmax(expected.double(), 1).numpy(), atol=1e-12)
    assert_array_equal(adapter.predict(X), expected.argmax(1).numpy())
    assert_array_equal(adapter.classes_, [0, 1, 2])


def test_torch_adapter_accepts_tensors_and_numeric_frames(X):
    adapter = assay.wrap(CountingNet())
    expected = adapter.logits(X)
    assert_array_equal(adapter.logits(torch.from_numpy(X)), expected)
    assert_array_equal(adapter.logits(pd.DataFrame(X)), expected)
    assert_array_equal(adapter.logits(X.astype(np.float64)), expected)  # cast to the model's dtype


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_torch_batching_gives_identical_results(X, batch_size):
    one_batch = assay.wrap(CountingNet(), batch_size=len(X))
    batched = assay.wrap(CountingNet(), batch_size=batch_size)
    assert_allclose(batched.logits(X), one_batch.logits(X), rtol=1e-6, atol=1e-7)
    assert_array_equal(batched.predict(X), one_batch.predict(X))
    assert_allclose(batched.embeddings(X, "penultimate"), one_batch.embeddings(X, "penultimate"),
                    rtol=1e-6, atol=1e-7)
    assert_allclose(batched.gradients(X, target=1), one_batch.gradients(X, target=1), rtol=1e-5, atol=1e-7)


def test_torch_runs_in_eval_mode_and_restores_training_mode(X):
    model = CountingNet()
    model.train()
    adapter = assay.wrap(model, cache=False)
    first, second = adapter.logits(X), adapter.logits(X)
    assert_array_equal(first, second)  # dropout off
    assert model.training and model.dropout.training
    model.eval()
    model.dropout.train()  # a mixed state is restored exactly
    adapter.logits(X)
    assert not model.training and model.dropout.training


def test_single_logit_binary_model(X):
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 1)
    adapter = assay.wrap(model)
    d = direct_logits(model, X).numpy()[:, 0].astype(np.float64)
    proba = adapter.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-6)
    assert_allclose(adapter.logits(X)[:, 1] - adapter.logits(X)[:, 0], d, rtol=1e-6)
    assert_array_equal(adapter.predict(X), (d > 0).astype(int))


def test_outputs_are_cached_per_data_content(X):
    model = CountingNet()
    adapter = assay.wrap(model, batch_size=50)  # 3 batches per pass
    adapter.logits(X)
    adapter.predict_proba(X)
    adapter.predict(X.copy())  # same content, other object: cache hit
    assert model.calls == 3
    assert list(adapter.forward_passes_.values()) == [1]
    X2 = X.copy()
    X2[0, 0] += 1.0  # changed content: a new pass
    adapter.logits(X2)
    assert model.calls == 6
    assert sorted(adapter.forward_passes_.values()) == [1, 1]


def test_cache_is_invalidated_when_parameters_change(X):
    model = CountingNet()
    adapter = assay.wrap(model)
    before = adapter.logits(X)
    with torch.no_grad():
        model.head.bias.add_(1.0)
    after = adapter.logits(X)
    assert_allclose(after, before + 1.0, rtol=1e-5, atol=1e-5)
    adapter.clear_cache()
    adapter.logits(X)
    assert model.calls == 3


def test_embeddings_equal_a_manual_forward_hook(X):
    model = CountingNet()
    captured = []
    handle = model.penultimate.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    direct_logits(model, X)
    handle.remove()
    adapter = assay.wrap(model, batch_size=16)
    assert_allclose(adapter.embeddings(X, "penultimate"), captured[0].numpy(), rtol=1e-6, atol=1e-7)
    # no hooks left behind on any module
    assert all(not m._forward_hooks for m in model.modules())


def test_several_layers_and_logits_in_one_pass(X):
    model = CountingNet()
    adapter = assay.wrap(model, batch_size=len(X))
    out = adapter.outputs(X, layers=["body", "penultimate.0", "head"])
    assert model.calls == 1
    assert out["body"].shape == (len(X), 16)
    assert out["penultimate.0"].shape == (len(X), 8)
    assert_array_equal(out["head"], out["logits"])
    emb = adapter.embeddings(X, ["body", "head"])
    adapter.logits(X)
    assert model.calls == 1 and set(emb) == {"body", "head"}


def test_capture_layers_declared_before_the_first_pass_share_it(X):
    model = CountingNet()
    adapter = assay.wrap(model, batch_size=len(X)).capture(["penultimate"])
    proba = adapter.predict_proba(X)             # a check that needs only probabilities
    emb = adapter.embeddings(X, "penultimate")   # a later check that reads the layer
    assert model.calls == 1 and adapter.forward_passes_.total() == 1
    reference = assay.wrap(CountingNet(), batch_size=len(X))
    assert_allclose(emb, reference.embeddings(X, "penultimate"), rtol=1e-6)
    assert_allclose(proba, reference.predict_proba(X), rtol=1e-6)
    with pytest.raises(AssayInputError, match="'layer'.*nope"):
        adapter.capture("nope")


def test_embeddings_flatten_conv_output():
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("conv", torch.nn.Conv2d(1, 4, 3, padding=1))
    model.add_module("flat", torch.nn.Flatten())
    model.add_module("head", torch.nn.Linear(4 * 8 * 8, 10))
    images = torch.rand(9, 1, 8, 8)
    adapter = assay.wrap(model)
    assert adapter.embeddings(images, "conv").shape == (9, 4, 8, 8)
    assert adapter.embeddings(images, "conv", flatten=True).shape == (9, 256)


def test_unknown_layer_is_named_in_the_error(X):
    adapter = assay.wrap(CountingNet())
    with pytest.raises(AssayInputError, match="'layer'.*'nope'.*penultimate"):
        adapter.embeddings(X, "nope")


def test_gradients_equal_manual_autograd(X):
    model = CountingNet()
    adapter = assay.wrap(model, batch_size=10)
    x = torch.from_numpy(X).requires_grad_(True)
    model.eval()
    logits = model(x)
    targets = np.random.default_rng(1).integers(0, 3, size=len(X))
    (expected,) = torch.autograd.grad(logits[torch.arange(len(X)), torch.from_numpy(targets)].sum(), x)
    assert_allclose(adapter.gradients(X, target=targets), expected.numpy(), rtol=1e-5, atol=1e-7)
    (expected_2,) = torch.autograd.grad(model(x)[:, 2].sum(), x)
    assert_allclose(adapter.gradients(X, target=2), expected_2.numpy(), rtol=1e-5, atol=1e-7)
    predicted = adapter.predict(X)
    assert_allclose(adapter.gradients(X), adapter.gradients(X, target=predicted), rtol=0, atol=0)
    assert all(p.grad is None for p in model.parameters())


def test_gradients_bad_target(X):
    adapter = assay.wrap(CountingNet())
    with pytest.raises(AssayInputError, match="'target'"):
        adapter.gradients(X, target=5)
    with pytest.raises(AssayInputError, match="'target'"):
        adapter.gradients(X, target=np.zeros(3, dtype=int))


def test_torch_model_shape_error_is_an_input_error():
    adapter = assay.wrap(CountingNet(n_in=5))
    with pytest.raises(AssayInputError, match="could not be run on 'X'"):
        adapter.logits(np.zeros((4, 7), dtype=np.float32))


def test_torch_nan_scores_raise(X):
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(AssayInputError, match="NaN.*first at row 3"):
        assay.wrap(CountingNet()).logits(X_nan)


def test_torch_non_numeric_frame_raises():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    with pytest.raises(AssayInputError, match="'X'.*non-numeric.*'b'"):
        assay.wrap(CountingNet(n_in=2)).logits(frame)


# ---------------------------------------------------------------------- scikit-learn
@pytest.fixture
def tabular():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "hours": rng.normal(40, 10, n),
        "job": pd.Categorical(rng.choice(["a", "b", "c"], n)),
    })
    y = ((frame["age"] > 40) ^ (rng.random(n) < 0.2)).astype(int).to_numpy()
    return frame, y


def test_sklearn_pipeline_on_a_dataframe_matches_the_estimator(tabular):
    frame, y = tabular
    pipe = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), ["age", "hours"]),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), ["job"])]),
        LogisticRegression(),
    ).fit(frame, y)
    adapter = assay.wrap(pipe, batch_size=64)
    assert isinstance(adapter, SklearnAdapter)
    assert_array_equal(adapter.predict_proba(frame), pipe.predict_proba(frame))
    assert_array_equal(adapter.predict(frame), pipe.predict(frame))
    assert_allclose(np.exp(adapter.logits(frame)), pipe.predict_proba(frame), rtol=1e-12)
    assert_array_equal(adapter.classes_, pipe.classes_)


def test_sklearn_string_labels_and_batching(tabular):
    frame, y = tabular
    labels = np.where(y == 1, "high", "low")
    X = frame[["age", "hours"]].to_numpy()
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, labels)
    big = assay.wrap(model, batch_size=len(X))
    small = assay.wrap(model, batch_size=7)
    assert_array_equal(small.predict_proba(X), big.predict_proba(X))
    assert_array_equal(small.predict(X), model.predict(X))
    assert set(small.predict(X)) <= {"high", "low"}


def test_sklearn_decision_function_only(tabular):
    frame, y = tabular
    X = frame[["age", "hours"]].to_numpy()
    svm = LinearSVC().fit(X, y)
    adapter = assay.wrap(svm)
    d = svm.decision_function(X)
    assert_allclose(adapter.predict_proba(X)[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-12)
    assert_array_equal(adapter.predict(X), svm.predict(X))
    y3 = np.digitize(X[:, 0], [35, 55])
    svm3 = LinearSVC().fit(X, y3)
    adapter3 = assay.wrap(svm3)
    assert_array_equal(adapter3.logits(X), svm3.decision_function(X))
    assert_array_equal(adapter3.predict(X), svm3.predict(X))


def test_sklearn_unfitted_estimator_raises():
    with pytest.raises(NotFittedError, match="'model'.*not fitted"):
        assay.wrap(LogisticRegression())
    assert issubclass(NotFittedError, AssayInputError)


def test_sklearn_wrong_width_and_missing_columns(tabular):
    frame, y = tabular
    X = frame[["age", "hours"]].to_numpy()
    adapter = assay.wrap(LogisticRegression().fit(X, y))
    with pytest.raises(AssayInputError, match=r"'X' must have shape \(n, 2\).*\(300, 3\)"):
        adapter.predict_proba(np.hstack([X, X[:, :1]]))
    framed = assay.wrap(LogisticRegression().fit(frame[["age", "hours"]], y))
    with pytest.raises(AssayInputError, match="'X' lacks columns.*hours"):
        framed.predict_proba(frame[["age"]])


def test_predict_with_threshold(tabular):
    frame, y = tabular
    X = frame[["age", "hours"]].to_numpy()
    model = LogisticRegression().fit(X, y)
    adapter = assay.wrap(model)
    p = model.predict_proba(X)[:, 1]
    assert_array_equal(adapter.predict(X, threshold=0.3), (p >= 0.3).astype(int))
    with pytest.raises(AssayInputError, match="'threshold'"):
        adapter.predict(X, threshold=1.5)


# ---------------------------------------------------------------------- callable
def test_callable_probabilities_detected_and_batched(X):
    weights = np.random.default_rng(2).normal(size=(5, 4))

    def proba_fn(batch):
        z = batch @ weights
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    adapter = assay.wrap(proba_fn, batch_size=10)
    assert isinstance(adapter, CallableAdapter)
    assert_allclose(adapter.predict_proba(X), proba_fn(X), rtol=1e-6)
    assert adapter.native_output == "probabilities"
    assert_array_equal(adapter.predict(X), proba_fn(X).argmax(1))


def test_callable_one_column_probability_and_logits(X):
    p = 1 / (1 + np.exp(-X[:, 0].astype(np.float64)))
    as_proba = assay.wrap(lambda b: 1 / (1 + np.exp(-b[:, 0].astype(np.float64))), output="probabilities")
    assert_allclose(as_proba.predict_proba(X)[:, 1], p, rtol=1e-12)
    as_logit = assay.wrap(lambda b: b[:, 0], output="logits")
    assert_allclose(as_logit.predict_proba(X)[:, 1], p, rtol=1e-6)


def test_callable_declared_probabilities_that_are_not(X):
    adapter = assay.wrap(lambda b: b[:, :3], output="probabilities")
    with pytest.raises(AssayInputError, match="probabilities but are not.*output='logits'"):
        adapter.predict_proba(X)


def test_callable_nan_and_wrong_length(X):
    with pytest.raises(AssayInputError, match="NaN"):
        assay.wrap(lambda b: np.full((len(b), 2), np.nan)).logits(X)
    with pytest.raises(AssayInputError, match="shape"):
        assay.wrap(lambda b: np.zeros((len(b) + 1, 2))).logits(X)


def test_callable_accepts_torch_outputs(X):
    model = CountingNet()
    adapter = assay.wrap(lambda b: model.eval()(torch.from_numpy(b)), output="logits")
    assert_allclose(adapter.logits(X), direct_logits(CountingNet(), X).numpy(), rtol=1e-6)


# ---------------------------------------------------------------------- wrap itself
def test_wrap_rejects_non_models():
    with pytest.raises(AssayInputError, match="'model' must be"):
        assay.wrap(42)
    with pytest.raises(AssayInputError, match="'model' must be"):
        assay.wrap(LogisticRegression)  # the class, not an instance


def test_wrap_parameters_validated():
    with pytest.raises(AssayInputError, match="'batch_size' parameter of wrap must be an int in \\[1, inf\\)"):
        assay.wrap(CountingNet(), batch_size=0)
    with pytest.raises(AssayInputError, match="'output'"):
        assay.wrap(lambda b: b, output="proba")
    with pytest.raises(AssayInputError, match="'device'"):
        assay.wrap(lambda b: b, device="cpu")
    with pytest.raises(AssayInputError, match="'device'"):
        assay.wrap(CountingNet(), device="not-a-device")


def test_wrap_returns_adapters_unchanged():
    adapter = assay.wrap(CountingNet())
    assert assay.wrap(adapter) is adapter


def test_classes_argument(X):
    adapter = assay.wrap(CountingNet(), classes=["cat", "dog", "eel"])
    assert set(adapter.predict(X)) <= {"cat", "dog", "eel"}
    wrong = assay.wrap(CountingNet(), classes=["a", "b"])
    with pytest.raises(AssayInputError, match="'classes' has 2 labels.*3 classes"):
        wrong.logits(X)


def test_torch_only_methods_on_other_models(tabular):
    frame, y = tabular
    adapter = assay.wrap(LogisticRegression().fit(frame[["age"]], y))
    with pytest.raises(AssayInputError, match="'embeddings' needs a PyTorch model"):
        adapter.embeddings(frame[["age"]], "x")
    with pytest.raises(AssayInputError, match="'gradients' needs a PyTorch model"):
        adapter.gradients(frame[["age"]], 0)


def test_an_uncached_adapter_never_hashes_its_input(X, monkeypatch):
    import assay.core.adapters as adapters

    def refuse(_):
        raise AssertionError("fingerprint computed with cache=False")

    monkeypatch.setattr(adapters, "fingerprint", refuse)
    adapter = assay.wrap(CountingNet().eval(), cache=False)
    first = adapter.logits(X)
    assert_array_equal(adapter.outputs(X)["logits"], first)
    assert_array_equal(adapter.map_batches(lambda batch, index: batch, X), np.asarray(X))
    assert not adapter.forward_passes_  # passes are counted per fingerprint, i.e. only with the cache on
