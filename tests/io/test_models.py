"""load_model: every supported form round-trips; untrusted files never run their code."""

from __future__ import annotations

import gzip
import pickle
import sys

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from safetensors.torch import save_file
from sklearn.linear_model import LogisticRegression

import assay
from assay import AssayInputError
from assay.io import MODEL_KINDS, TRUST_MODEL_FILE_HELP, LoadedModel, load_model
from tests.io import fixtures_models
from tests.io.fixtures_models import ExecPayload, PayloadNet, SmallNet, build_trained_model

FACTORY = "tests.io.fixtures_models:build_model"

# torch 2.13 deprecates TorchScript (torch.jit.*) in favour of torch.export; files still load.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(37, fixtures_models.N_FEATURES)).astype(np.float32)


@pytest.fixture
def net():
    return build_trained_model()


def logits(model, X):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(X)).numpy()


def load_error(spec, arg="--model", **kwargs) -> str:
    """The message of the AssayInputError that load_model raises; checks it is one line."""
    with pytest.raises(AssayInputError) as excinfo:
        load_model(spec, **kwargs)
    message = str(excinfo.value)
    assert message.startswith(f"{arg}: "), message
    assert "\n" not in message and "\r" not in message, message
    assert len(message.splitlines()) == 1
    return message


@pytest.fixture
def sklearn_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    return LogisticRegression().fit(X, y), X


# ---------------------------------------------------------------------- torch files
def test_torchscript_round_trip(tmp_path, X, net):
    path = tmp_path / "model.pt"
    torch.jit.script(net).save(str(path))
    loaded = load_model(path)
    assert isinstance(loaded, LoadedModel)
    assert loaded.kind == "torchscript" and loaded.source == str(path) and not loaded.trusted
    assert isinstance(loaded.model, torch.jit.ScriptModule)
    assert_array_equal(logits(loaded.model, X), logits(net, X))
    assert_array_equal(assay.wrap(loaded.model).logits(X), logits(net, X))


def test_torchscript_with_pth_suffix(tmp_path, X, net):
    path = tmp_path / "model.pth"
    torch.jit.script(net).save(str(path))
    assert_array_equal(logits(load_model(str(path)).model, X), logits(net, X))


@pytest.mark.parametrize(
    "factory",
    [FACTORY, fixtures_models.build_model, SmallNet, "tests.io.fixtures_models:SmallNet"],
    ids=["spec", "function", "class", "class-spec"],
)
def test_state_dict_with_factory(tmp_path, X, net, factory):
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path)
    loaded = load_model(path, model_factory=factory)
    assert loaded.kind == "torch-state-dict" and not loaded.trusted
    assert isinstance(loaded.model, SmallNet) and loaded.model is not net
    assert loaded.factory in (FACTORY, "build_model", "SmallNet", "tests.io.fixtures_models:SmallNet")
    assert_array_equal(logits(loaded.model, X), logits(net, X))


def test_checkpoint_dict_with_state_dict_inside(tmp_path, X, net):
    path = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 3, "model_state_dict": net.state_dict(), "lr": 0.1}, path)
    loaded = load_model(path, model_factory=FACTORY)
    assert loaded.kind == "torch-state-dict"
    assert_array_equal(logits(loaded.model, X), logits(net, X))


def test_data_parallel_prefix_is_stripped(tmp_path, X, net):
    path = tmp_path / "dp.pt"
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, path)
    assert_array_equal(logits(load_model(path, model_factory=FACTORY).model, X), logits(net, X))


def test_state_dict_without_factory_is_an_error(tmp_path, net):
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path)
    message = load_error(path)
    assert "state_dict" in message and "--model-factory" in message and str(path) in message


def test_state_dict_that_does_not_fit_the_factory(tmp_path, net):
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path)
    message = load_error(path, model_factory="tests.io.fixtures_models:build_wider_model")
    assert "shape mismatches" in message and "hidden.weight" in message
    torch.save({"extra": torch.zeros(1), **net.state_dict()}, path)
    assert "unexpected keys (1): extra" in load_error(path, model_factory=FACTORY)


@pytest.mark.parametrize(
    ("factory", "needle"),
    [
        ("no_such_module_xyz:build", "cannot import module 'no_such_module_xyz'"),
        ("tests.io.fixtures_models:missing", "has no attribute 'missing'"),
        ("tests.io.fixtures_models:build_fails", "RuntimeError: cannot build: no weights here"),
        ("tests.io.fixtures_models:build_string", "returned a str"),
        ("tests.io.fixtures_models:score", "cannot be called with no arguments"),
        ("not a spec", "expected 'module:function'"),
    ],
)
def test_bad_factory_names_the_factory_argument(tmp_path, net, factory, needle):
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path)
    message = load_error(path, arg="--model-factory", model_factory=factory)
    assert needle in message


def test_factory_for_a_model_with_its_own_code_is_refused(tmp_path, net):
    path = tmp_path / "model.pt"
    torch.jit.script(net).save(str(path))
    message = load_error(path, arg="--model-factory", model_factory=FACTORY)
    assert "TorchScript" in message


def test_full_pickled_module_needs_trust(tmp_path, X, net):
    path = tmp_path / "full.pt"
    torch.save(net, path)
    message = load_error(path)
    assert "--trust-model-file" in message and "pickled Python objects" in message
    assert "SmallNet" in message  # the class the file would have made
    loaded = load_model(path, trust_model_file=True)
    assert loaded.kind == "torch-module" and loaded.trusted
    assert_array_equal(logits(loaded.model, X), logits(net, X))


def test_trusted_flag_does_not_change_safe_loading(tmp_path, X, net):
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path)
    loaded = load_model(path, trust_model_file=True, model_factory=FACTORY)
    assert loaded.kind == "torch-state-dict" and not loaded.trusted  # weights_only sufficed


# ---------------------------------------------------------------------- safetensors
def test_safetensors_round_trip(tmp_path, X, net):
    path = tmp_path / "model.safetensors"
    save_file(net.state_dict(), str(path))
    loaded = load_model(path, model_factory=FACTORY)
    assert loaded.kind == "safetensors" and loaded.factory == FACTORY
    assert loaded.describe() == f"{path} (safetensors, factory {FACTORY}, SmallNet)"
    assert_array_equal(logits(loaded.model, X), logits(net, X))


def test_safetensors_needs_a_factory(tmp_path, net):
    path = tmp_path / "model.safetensors"
    save_file(net.state_dict(), str(path))
    message = load_error(path)
    assert "--model-factory" in message and "safetensors" in message


# ---------------------------------------------------------------------- pickle / joblib
@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib", ".pkl.gz"])
def test_pickled_sklearn_model_needs_trust(tmp_path, sklearn_model, suffix):
    model, X = sklearn_model
    path = tmp_path / f"model{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, path, compress=3 if suffix.endswith(".gz") else 0)
    message = load_error(path)
    assert "--trust-model-file" in message and "arbitrary code" in message
    loaded = load_model(path, trust_model_file=True)
    assert loaded.kind == "pickle" and loaded.trusted
    assert type(loaded.model) is LogisticRegression
    assert_array_equal(loaded.model.predict_proba(X), model.predict_proba(X))
    assert_allclose(assay.wrap(loaded.model).predict_proba(X), model.predict_proba(X))


def test_pickled_unfitted_or_non_model_objects_are_errors(tmp_path):
    path = tmp_path / "unfitted.pkl"
    path.write_bytes(pickle.dumps(LogisticRegression()))
    assert "unfitted LogisticRegression" in load_error(path, trust_model_file=True)
    path = tmp_path / "dict.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    assert "holds a dict" in load_error(path, trust_model_file=True)


# ---------------------------------------------------------------------- malicious files
@pytest.mark.parametrize("suffix", [".pkl", ".joblib"])
def test_malicious_pickle_is_not_executed_without_trust(tmp_path, suffix):
    marker = tmp_path / "marker.txt"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps(ExecPayload(marker)))
    message = load_error(path)
    assert "--trust-model-file" in message
    assert not marker.exists()
    # Control: the payload is real, and does run once the user vouches for the file.
    with pytest.raises(AssayInputError, match="holds None"):
        load_model(path, trust_model_file=True)
    assert marker.read_text() == "payload ran"


@pytest.mark.parametrize("payload", ["module", "exec"])
def test_malicious_torch_file_is_not_executed_under_weights_only(tmp_path, X, payload):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.pt"
    torch.save(PayloadNet(marker) if payload == "module" else ExecPayload(marker), path)
    for kwargs in ({}, {"model_factory": FACTORY}):
        message = load_error(path, **kwargs)
        assert "--trust-model-file" in message and "pickled Python objects" in message
        assert not marker.exists()
    if payload == "module":  # control: with trust the payload runs (and here builds a model)
        loaded = load_model(path, trust_model_file=True)
        assert marker.exists() and loaded.kind == "torch-module" and loaded.trusted
        assert_array_equal(logits(loaded.model, X), logits(build_trained_model(), X))


def test_trust_help_says_why():
    assert "arbitrary code" in TRUST_MODEL_FILE_HELP and "trust" in TRUST_MODEL_FILE_HELP


# ---------------------------------------------------------------------- python code
def test_module_function_builds_the_model(X):
    loaded = load_model("tests.io.fixtures_models:build_trained_model")
    assert loaded.kind == "python" and loaded.source == "tests.io.fixtures_models:build_trained_model"
    assert isinstance(loaded.model, SmallNet)
    assert_array_equal(logits(loaded.model, X), logits(build_trained_model(), X))


def test_module_attribute_forms(X):
    assert load_model("tests.io.fixtures_models:MODEL").model is fixtures_models.MODEL
    assert type(load_model("tests.io.fixtures_models:SmallNet").model) is SmallNet
    scorer = load_model("tests.io.fixtures_models:score").model
    assert scorer is fixtures_models.score  # f(X) with a required argument is the model
    assert_allclose(assay.wrap(scorer, output="logits").logits(X)[:, 0], X[:, 0])


def test_python_file_spec_with_sibling_import(tmp_path, X, monkeypatch):
    (tmp_path / "sibling_helper_for_assay_test.py").write_text("SCALE = 2.0\n")
    code = tmp_path / "io.py"  # a name that must not shadow the standard library's io
    code.write_text(
        "import torch\n"
        "from sibling_helper_for_assay_test import SCALE\n"
        "class Doubler(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.cat([x[:, :1], -x[:, :1]], 1) * SCALE\n"
        "def make():\n"
        "    return Doubler()\n"
    )
    monkeypatch.chdir(tmp_path.parent)
    path_before = list(sys.path)
    loaded = load_model(f"{code}:make")
    assert loaded.kind == "python" and type(loaded.model).__name__ == "Doubler"
    assert_array_equal(logits(loaded.model, X)[:, 0], 2 * X[:, 0])
    assert sys.path == path_before
    import io

    assert hasattr(io, "BytesIO")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("no_such_module_xyz:build", "cannot import module 'no_such_module_xyz'"),
        ("tests.io.fixtures_models:nope", "has no attribute 'nope'; it defines"),
        ("tests.io.fixtures_models:build_fails", "RuntimeError: cannot build: no weights here"),
        ("tests.io.fixtures_models:build_nothing", "returned None"),
        ("tests.io.fixtures_models:build_string", "returned a str"),
        ("tests.io.fixtures_models:NOT_A_MODEL", "is an int, not a model"),
        ("missing_dir/missing_file.py:make", "does not exist"),
    ],
)
def test_bad_python_specs(spec, needle):
    assert needle in load_error(spec)


def test_python_spec_with_factory_is_refused():
    assert "Python code" in load_error(
        "tests.io.fixtures_models:build_model", arg="--model-factory", model_factory=FACTORY
    )


def test_python_file_that_fails_to_import(tmp_path):
    code = tmp_path / "broken.py"
    code.write_text("def make(:\n")
    assert "SyntaxError" in load_error(f"{code}:make")


# ---------------------------------------------------------------------- bad files
@pytest.mark.parametrize("name", ["missing.pt", "missing.safetensors", "missing.pkl"])
def test_missing_file(tmp_path, name):
    message = load_error(tmp_path / name, trust_model_file=True)
    assert "does not exist" in message and name in message


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "model.pt").mkdir()
    assert "is a directory" in load_error(tmp_path / "model.pt")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("junk.pt", b"this is not a torch file at all", "corrupt"),
        ("empty.pt", b"", "is empty (0 bytes)"),
        ("junk.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage", "corrupt"),
        ("junk.pkl", b"\x80\x05not really a pickle", "corrupt"),
    ],
)
def test_corrupt_files(tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_bytes(content)
    factory = None if name.endswith(".pkl") else FACTORY
    message = load_error(path, trust_model_file=True, model_factory=factory)
    assert needle in message and name in message


def test_truncated_files(tmp_path, net):
    for kind in ("state", "script"):
        path = tmp_path / f"{kind}.pt"
        if kind == "state":
            torch.save(net.state_dict(), path)
        else:
            torch.jit.script(net).save(str(path))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        assert "corrupt" in load_error(path, model_factory=FACTORY)


def test_truncated_gzip_pickle_with_trust(tmp_path, sklearn_model):
    path = tmp_path / "model.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(sklearn_model[0]))[:40])
    assert "corrupt" in load_error(path, trust_model_file=True)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("model.onnx", "ONNX models are not supported"),
        ("model.h5", "extension '.h5'"),
        ("model", "no extension"),
        ("", "expected a TorchScript"),
    ],
)
def test_unsupported_forms_list_the_supported_ones(tmp_path, spec, needle):
    if spec:
        (tmp_path / spec).write_bytes(b"\x00")
        spec = tmp_path / spec
    message = load_error(spec)
    assert needle in message
    assert ".pt" in message and ".safetensors" in message and "module:function" in message


def test_spec_of_the_wrong_type():
    assert "expected" in load_error(123)


def test_model_kinds_are_documented():
    assert set(MODEL_KINDS) == {
        "python", "torchscript", "torch-state-dict", "torch-module", "safetensors", "pickle"
    }


# ---------------------------------------------------------------------- a plain pickle named .pt
@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("payload", ["dict", "exec", "sklearn"])
def test_plain_pickle_renamed_pt_is_refused_saying_it_holds_pickled_objects(tmp_path, protocol, payload, sklearn_model):
    path = tmp_path / "model.pt"
    marker = tmp_path / "ran"
    obj = {"dict": {"weights": [1, 2, 3]}, "exec": ExecPayload(marker), "sklearn": sklearn_model[0]}[payload]
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    message = load_error(str(path))
    assert "holds pickled Python objects" in message and "plain pickle" in message
    assert "--trust-model-file" in message and "trust_model_file=True" in message
    assert "corrupt" not in message and not marker.exists()


def test_plain_pickle_renamed_pt_loads_when_trusted(tmp_path, sklearn_model):
    model, X = sklearn_model
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps(model, protocol=4))
    loaded = load_model(str(path), trust_model_file=True)
    assert loaded.trusted and loaded.kind == "pickle"
    assert_allclose(loaded.model.predict_proba(X), model.predict_proba(X))


def test_legacy_torch_save_format_still_loads_without_trust(tmp_path, net):
    path = tmp_path / "weights.pt"
    torch.save(net.state_dict(), path, _use_new_zipfile_serialization=False)
    loaded = load_model(str(path), model_factory=FACTORY)
    assert loaded.kind == "torch-state-dict" and not loaded.trusted
