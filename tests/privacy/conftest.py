"""The overfit Adult case shared by the membership and DP-training tests."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def adult_small():
    """150 training rows (members) and 2,000 test rows (non-members) of Adult, preprocessed."""
    from assay.datasets import load_adult
    from assay.models import make_tabular_preprocessor

    ds = load_adult()
    te = np.random.default_rng(0).choice(len(ds.test.X), 2000, replace=False)
    tr = np.random.default_rng(2).choice(len(ds.train.X), 150, replace=False)
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
    model = train_tabular_mlp(Xtr, ytr, epochs=60, hidden=(512, 512), dropout=0.0, batch_size=32, lr=5e-3,
                              random_state=2)
    return model, Xtr, ytr, Xte, yte, sex
