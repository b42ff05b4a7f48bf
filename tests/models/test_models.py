"""assay.models: reference models are seeded, accurate enough, fast, and validate their inputs.

Data comes from ``assay.datasets`` (Adult's published train/test split, digits split seed 0).
Each expensive model is trained once per module (module-scoped fixtures).
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import assay
from assay import AssayInputError
from assay.datasets import load_adult, load_digits_split
from assay.models import (
    DigitsCNN,
    TabularMLP,
    TrainingHistory,
    fit_torch_classifier,
    make_tabular_preprocessor,
    train_digits_cnn,
    train_sklearn_model,
    train_tabular_mlp,
)

# --------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def adult():
    return load_adult()


@pytest.fixture(scope="module")
def adult_features(adult):
    """Adult preprocessed with the shared preprocessor (fitted on the training split)."""
    pre = make_tabular_preprocessor(adult.categorical_features, adult.numeric_features)
    Z_train = pre.fit_transform(adult.train.X)
    Z_test = pre.transform(adult.test.X)
    return pre, Z_train, Z_test


@pytest.fixture(scope="module")
def adult_mlp(adult, adult_features):
    _, Z_train, _ = adult_features
    return train_tabular_mlp(Z_train, adult.train.y.to_numpy(), random_state=0)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(random_state=0)


@pytest.fixture(scope="module")
def digits_cnn(digits):
    return train_digits_cnn(digits.train.X, digits.train.y, random_state=0,
                            X_val=digits.val.X, y_val=digits.val.y)


def _accuracy(module, X, y):
    with torch.no_grad():
        pred = module(torch.as_tensor(X)).argmax(dim=1).numpy()
    return float((pred == np.asarray(y)).mean())


def _state_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def toy_binary():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


# ---------------------------------------------------------------------------------- preprocessor


def test_preprocessor_float32_unseen_categories_and_nan():
    train = pd.DataFrame({
        "colour": pd.Categorical(["red", "blue", np.nan, "red", "blue"]),
        "size": pd.Series(["s", "m", "m", "l", "s"], dtype="category"),
        "age": np.array([20, 30, 40, 50, 60], dtype=np.int64),
        "score": [1.0, np.nan, 3.0, 4.0, 5.0],
        "ignored": ["a", "b", "c", "d", "e"],
    })
    pre = make_tabular_preprocessor(["colour", "size"], ["age", "score"])
    Z = pre.fit_transform(train)
    assert isinstance(Z, np.ndarray) and Z.dtype == np.float32
    names = list(pre.get_feature_names_out())
    # colour: blue, missing, red; size: l, m, s; then age, score. "ignored" is dropped.
    assert Z.shape == (5, 8) and len(names) == 8
    assert np.isfinite(Z).all()
    missing_col = next(i for i, n in enumerate(names) if n.endswith("colour_missing"))
    assert Z[2, missing_col] == 1.0  # NaN in a category column becomes the "missing" level

    new = pd.DataFrame({
        "colour": pd.Categorical(["green", np.nan]),  # unseen level, and NaN
        "size": pd.Categorical(["xl", "m"]),
        "age": np.array([25, 35], dtype=np.int64),
        "score": [np.nan, 2.0],
        "ignored": ["x", "y"],
    })
    Zn = pre.transform(new)
    assert Zn.dtype == np.float32 and Zn.shape == (2, 8) and np.isfinite(Zn).all()
    colour_cols = [i for i, n in enumerate(names) if "colour_" in n]
    size_cols = [i for i, n in enumerate(names) if "size_" in n]
    assert Zn[0, colour_cols].sum() == 0 and Zn[0, size_cols].sum() == 0  # unseen -> all zeros
    assert Zn[1, missing_col] == 1.0
    # Median imputation then scaling: the imputed score equals the scaled training median.
    score = names.index("numeric__score")
    median_scaled = (3.5 - np.mean([1, 3, 4, 5, 3.5])) / np.std([1, 3, 4, 5, 3.5])
    assert Zn[0, score] == pytest.approx(median_scaled, rel=1e-5)


def test_preprocessor_on_adult_is_float32(adult, adult_features):
    pre, Z_train, Z_test = adult_features
    assert Z_train.dtype == np.float32 and Z_test.dtype == np.float32
    assert Z_train.shape[0] == len(adult.train.X) and Z_test.shape[1] == Z_train.shape[1]
    assert np.isfinite(Z_train).all() and np.isfinite(Z_test).all()
    assert adult.train.X[list(adult.categorical_features)].isna().any().any()  # NaN really present


@pytest.mark.parametrize(
    "categorical, numeric, match",
    [
        ("workclass", ["age"], "categorical_features"),
        (["workclass"], [1], "numeric_features"),
        (["age"], ["age"], "both"),
        ([], [], "at least one column"),
    ],
)
def test_preprocessor_bad_features(categorical, numeric, match):
    with pytest.raises(AssayInputError, match=match):
        make_tabular_preprocessor(categorical, numeric)


# ------------------------------------------------------------------------------- sklearn models


@pytest.mark.parametrize("kind, floor", [("logistic", 0.84), ("gbm", 0.86)])
def test_sklearn_model_accuracy_on_adult_test(adult, kind, floor):
    model = train_sklearn_model(
        adult.train.X, adult.train.y, categorical_features=adult.categorical_features,
        numeric_features=adult.numeric_features, kind=kind, random_state=0,
    )
    assert [name for name, _ in model.steps] == ["preprocess", "classifier"]
    accuracy = float((model.predict(adult.test.X) == adult.test.y.to_numpy()).mean())
    assert accuracy >= floor, f"{kind}: test accuracy {accuracy:.4f} < {floor}"
    # The fitted pipeline pickles (no lambdas) and predicts the same after a round trip.
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(adult.test.X[:500]),
                                  model.predict(adult.test.X[:500]))


def test_sklearn_model_bad_input(adult):
    X, y = adult.train.X.iloc[:200], adult.train.y.iloc[:200]
    kw = dict(categorical_features=adult.categorical_features,
              numeric_features=adult.numeric_features)
    with pytest.raises(AssayInputError, match=r"'kind'.*'logistic', 'gbm'.*'svm'"):
        train_sklearn_model(X, y, kind="svm", **kw)
    with pytest.raises(AssayInputError, match=r"X: 200, y: 199"):
        train_sklearn_model(X, y.iloc[:199], **kw)
    with pytest.raises(AssayInputError, match=r"'random_state'"):
        train_sklearn_model(X, y, random_state=-1, **kw)
    with pytest.raises(AssayInputError, match=r"'X' lacks column.*'age'"):
        train_sklearn_model(X.drop(columns="age"), y, **kw)
    with pytest.raises(AssayInputError, match=r"'X'.*DataFrame"):
        train_sklearn_model(X.to_numpy(), y, **kw)
    with pytest.raises(AssayInputError, match=r"'y'.*missing"):
        train_sklearn_model(X, y.astype(float).where(y.index != y.index[3]), **kw)
    with pytest.raises(AssayInputError, match=r"'y'.*two classes"):
        train_sklearn_model(X, np.zeros(200, dtype=int), **kw)


# ------------------------------------------------------------------------------- torch networks


def _record_outputs(module, x, names):
    shapes = {}
    handles = [
        dict(module.named_modules())[name].register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
        for name in names
    ]
    try:
        with torch.no_grad():
            logits = module(x)
    finally:
        for h in handles:
            h.remove()
    return logits, shapes


def test_tabular_mlp_named_modules_and_shapes():
    torch.manual_seed(0)
    model = TabularMLP(7, n_classes=3, hidden=(16, 8, 4), dropout=0.2)
    names = ["body", "penultimate", "dropout", "head"]
    assert set(names) <= set(dict(model.named_modules()))
    assert isinstance(model.head, nn.Linear)
    logits, shapes = _record_outputs(model.eval(), torch.randn(5, 7), names)
    assert logits.shape == (5, 3)
    assert shapes == {"body": (5, 8), "penultimate": (5, 4), "dropout": (5, 4), "head": (5, 3)}
    # One hidden layer: body is the identity, penultimate holds that layer.
    model = TabularMLP(7, hidden=(10,))
    logits, shapes = _record_outputs(model.eval(), torch.randn(5, 7), ["body", "penultimate"])
    assert logits.shape == (5, 2) and shapes == {"body": (5, 7), "penultimate": (5, 10)}


def test_digits_cnn_named_modules_and_shapes():
    model = DigitsCNN().eval()
    names = ["conv1", "relu1", "conv2", "relu2", "pool", "penultimate", "dropout", "head"]
    assert set(names) <= set(dict(model.named_modules()))
    assert isinstance(model.conv2, nn.Conv2d) and isinstance(model.head, nn.Linear)
    logits, shapes = _record_outputs(model, torch.rand(4, 1, 8, 8), names)
    assert logits.shape == (4, 10)
    assert shapes == {
        "conv1": (4, 16, 8, 8), "relu1": (4, 16, 8, 8), "conv2": (4, 32, 8, 8),
        "relu2": (4, 32, 8, 8), "pool": (4, 32, 4, 4), "penultimate": (4, 64),
        "dropout": (4, 64), "head": (4, 10),
    }
    # The embedding is reachable through the adapter by its documented name.
    emb = assay.wrap(model).embeddings(torch.rand(6, 1, 8, 8), layer="penultimate")
    assert emb.shape == (6, 64)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_features=0), r"'n_features'.*\[1, inf\).*Got 0"),
        (dict(n_features=5, hidden=()), r"'hidden'.*non-empty.*Got \(\)"),
        (dict(n_features=5, hidden=(8, 0)), r"'hidden'.*Got \(8, 0\)"),
        (dict(n_features=5, hidden="64"), r"'hidden'"),
        (dict(n_features=5, n_classes=1), r"'n_classes'"),
        (dict(n_features=5, dropout=1.0), r"'dropout'.*Got 1.0"),
        (dict(n_features=2.5), r"'n_features'.*an int"),
    ],
)
def test_tabular_mlp_bad_args(kwargs, match):
    with pytest.raises(AssayInputError, match=match):
        TabularMLP(**kwargs)


def test_digits_cnn_bad_args():
    with pytest.raises(AssayInputError, match=r"'n_classes'.*Got 1"):
        DigitsCNN(n_classes=1)
    with pytest.raises(AssayInputError, match=r"'dropout'"):
        DigitsCNN(dropout=-0.1)


# ---------------------------------------------------------------------------------- training loop


def test_same_seed_same_weights_mlp(adult_features, adult):
    _, Z_train, _ = adult_features
    X, y = Z_train[:1500], adult.train.y.to_numpy()[:1500]
    a = train_tabular_mlp(X, y, random_state=3, epochs=2)
    b = train_tabular_mlp(X, y, random_state=3, epochs=2)
    c = train_tabular_mlp(X, y, random_state=4, epochs=2)
    assert _state_equal(a, b)
    assert not _state_equal(a, c)
    assert a.training_history_.train_loss == b.training_history_.train_loss


def test_same_seed_same_weights_cnn(digits):
    X, y = digits.train.X[:300], digits.train.y[:300]
    a = train_digits_cnn(X, y, random_state=5, epochs=2)
    b = train_digits_cnn(X, y, random_state=5, epochs=2)
    c = train_digits_cnn(X, y, random_state=6, epochs=2)
    assert _state_equal(a, b)
    assert not _state_equal(a, c)


def test_training_leaves_global_rng_alone(toy_binary):
    X, y = toy_binary
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train_tabular_mlp(X, y, random_state=0, epochs=1)
    assert torch.equal(torch.get_rng_state(), before)


def test_fit_torch_classifier_is_seeded_given_the_same_start(toy_binary):
    """Same initial weights + same seed -> same result, whatever the global RNG state."""
    X, y = toy_binary
    torch.manual_seed(0)
    start = TabularMLP(6, dropout=0.5)
    a, b = TabularMLP(6, dropout=0.5), TabularMLP(6, dropout=0.5)
    a.load_state_dict(start.state_dict())
    b.load_state_dict(start.state_dict())
    torch.manual_seed(1)
    fit_torch_classifier(a, X, y, epochs=3, batch_size=32, random_state=7)
    torch.manual_seed(2)
    fit_torch_classifier(b, torch.from_numpy(X), torch.from_numpy(y), epochs=3, batch_size=32,
                         random_state=7)
    assert _state_equal(a, b)


def test_fit_torch_classifier_history_and_eval_mode(toy_binary):
    X, y = toy_binary
    torch.manual_seed(0)
    model = TabularMLP(6)
    returned = fit_torch_classifier(model, X, y, epochs=15, batch_size=50, lr=1e-2,
                                    X_val=X[:50], y_val=y[:50])
    assert returned is model and not model.training
    assert all(not m.training for m in model.modules())
    h = model.training_history_
    assert isinstance(h, TrainingHistory)
    assert len(h.train_loss) == 15 and len(h.val_accuracy) == 15 and len(h.val_loss) == 15
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.val_accuracy[-1] >= 0.9 and h.n_classes == 2 and h.random_state == 0 and h.seed == 0
    fit_torch_classifier(model, X, y, epochs=1)
    assert model.training_history_.val_accuracy is None


def test_fit_torch_classifier_loss_fn_hook(toy_binary):
    X, y = toy_binary
    seen = []

    def loss_fn(module, xb, yb, index):
        seen.append(index.clone())
        assert torch.equal(xb, torch.from_numpy(X)[index]) and torch.equal(yb, torch.from_numpy(y)[index])
        return nn.functional.cross_entropy(module(xb), yb) + 0.0 * sum(
            p.sum() for p in module.parameters())

    torch.manual_seed(0)
    fit_torch_classifier(TabularMLP(6), X, y, epochs=2, batch_size=64, loss_fn=loss_fn)
    assert [len(i) for i in seen] == [64, 64, 64, 8] * 2
    for epoch in (seen[:4], seen[4:]):  # every row exactly once per epoch
        assert torch.equal(torch.sort(torch.cat(epoch)).values, torch.arange(200))
    assert not torch.equal(torch.cat(seen[:4]), torch.cat(seen[4:]))  # reshuffled


def test_fit_torch_classifier_progress_bar(toy_binary, capsys):
    X, y = toy_binary
    torch.manual_seed(0)
    fit_torch_classifier(TabularMLP(6), X, y, epochs=2, progress=True)
    assert "fit_torch_classifier" in capsys.readouterr().err


def test_fit_torch_classifier_bad_input(toy_binary):
    X, y = toy_binary
    torch.manual_seed(0)
    model = TabularMLP(6)
    X_nan = X.copy()
    X_nan[4, 2] = np.nan
    cases = [
        (dict(X=X, y=y[:-1]), r"X: 200, y: 199"),
        (dict(X=X_nan, y=y), r"'X'.*NaN.*index \(4, 2\)"),
        (dict(X=X, y=np.where(np.arange(200) == 9, 2, y)), r"'y'.*\[0, 1\].*2 at index 9"),
        (dict(X=X, y=np.where(np.arange(200) == 0, -1, y)), r"'y'.*-1 at index 0"),
        (dict(X=X, y=y + 0.5), r"'y'.*integer"),
        (dict(X=X, y=np.array(["a", "b"] * 100)), r"'y'.*integer class indices"),
        (dict(X=X, y=y, X_val=X[:10]), r"'X_val' and 'y_val'"),
        (dict(X=X, y=y, X_val=X[:10], y_val=y[:9]), r"X_val: 10, y_val: 9"),
        (dict(X=X, y=y, X_val=X[:10, :3], y_val=y[:10]), r"'X_val'.*\(6,\)"),
        (dict(X=X, y=y, epochs=0), r"'epochs'"),
        (dict(X=X, y=y, batch_size=0), r"'batch_size'"),
        (dict(X=X, y=y, lr=0.0), r"'lr'"),
        (dict(X=X, y=y, random_state=-1), r"'random_state'"),
        (dict(X=X, y=y, progress="yes"), r"'progress'"),
        (dict(X=X[:, :4], y=y), r"could not be run on 'X'"),
        (dict(X=X[:, 0], y=y), r"'X'.*2-D"),
    ]
    for kwargs, match in cases:
        with pytest.raises(AssayInputError, match=match):
            fit_torch_classifier(model, **{"epochs": 1, **kwargs})
    with pytest.raises(AssayInputError, match=r"'module'"):
        fit_torch_classifier(lambda x: x, X, y)
    with pytest.raises(AssayInputError, match=r"'module' must return logits"):
        fit_torch_classifier(nn.Linear(6, 1), X, y)


def test_convenience_trainers_bad_input(toy_binary, digits):
    X, y = toy_binary
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(AssayInputError, match=r"'X'.*NaN"):
        train_tabular_mlp(X_nan, y)
    with pytest.raises(AssayInputError, match=r"X: 200, y: 150"):
        train_tabular_mlp(X, y[:150])
    with pytest.raises(AssayInputError, match=r"'hidden'"):
        train_tabular_mlp(X, y, hidden=())
    with pytest.raises(AssayInputError, match=r"'y'.*\[0, 1\]"):
        train_tabular_mlp(X, np.where(np.arange(200) == 3, 5, y), n_classes=2)
    with pytest.raises(AssayInputError, match=r"'X'.*\(n, 1, 8, 8\).*\(20, 1, 4, 16\)"):
        train_digits_cnn(digits.train.X[:20].reshape(20, 1, 4, 16), digits.train.y[:20])
    with pytest.raises(AssayInputError, match=r"'y'.*\[0, 9\].*10 at index 0"):
        train_digits_cnn(digits.train.X[:20], torch.full((20,), 10))


# ------------------------------------------------------------------------- accuracy


def test_tabular_mlp_accuracy_on_adult_test(adult_mlp, adult_features, adult):
    _, _, Z_test = adult_features
    accuracy = _accuracy(adult_mlp, Z_test, adult.test.y.to_numpy())
    assert accuracy >= 0.83, f"MLP test accuracy {accuracy:.4f} < 0.83"


def test_digits_cnn_accuracy_on_test(digits_cnn, digits):
    accuracy = _accuracy(digits_cnn, digits.test.X, digits.test.y.numpy())
    assert accuracy >= 0.95, f"CNN test accuracy {accuracy:.4f} < 0.95"
    h = digits_cnn.training_history_
    assert h.val_accuracy[-1] >= 0.93
