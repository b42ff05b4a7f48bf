"""The overfit Adult case shared by the membership and DP-training tests."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def adult_small():
    """50 training rows (members) and 2,000 test rows (non-members) of Adult, preprocessed.

    The recipe (subset seed ``s`` for the members, ``1000 + s`` for the non-members, model seed ``s``)
    is the one ``benchmarks/bench_privacy.py --seeds 8`` runs for seeds 0..7; the tests use seed 0."""
    from assay.datasets import load_adult
    from assay.models import make_tabular_preprocessor

    ds = load_adult()
    te = np.random.default_rng(1000).choice(len(ds.test.X), 2000, replace=False)
    tr = np.random.default_rng(0).choice(len(ds.train.X), 50, replace=False)
    pre = make_tabular_preprocessor(ds.categorical_features, ds.numeric_features)
    Xtr, ytr = pre.fit_transform(ds.train.X.iloc[tr]), ds.train.y.to_numpy()[tr]
    Xte, yte = pre.transform(ds.test.X.iloc[te]), ds.test.y.to_numpy()[te]
    sex = np.r_[ds.train.sensitive_features["sex"].to_numpy()[tr], ds.test.sensitive_features["sex"].to_numpy()[te]]
    return Xtr, ytr, Xte, yte, sex.astype(str)


@pytest.fixture(scope="session")
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: threads only contend
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def adult_overfit(adult_small, one_thread):
    from assay.models import train_tabular_mlp

    Xtr, ytr, Xte, yte, sex = adult_small
    # memorises: one wide hidden layer, no dropout or weight decay, full batch, 400 epochs on 50 rows
    model = train_tabular_mlp(Xtr, ytr, epochs=400, hidden=(2048,), dropout=0.0, batch_size=50, lr=1e-3,
                              random_state=0)
    return model, Xtr, ytr, Xte, yte, sex
