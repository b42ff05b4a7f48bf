"""MMD-critic prototypes and criticisms: a hand-checked case, and equality with a naive greedy computation of
the paper's objectives written out here (full kernel matrix, objective recomputed for every candidate)."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics.pairwise import rbf_kernel as sk_rbf

from assay import AssayInputError
from assay.explain import MMDCritic
from assay.explain.prototypes import median_heuristic_gamma, rbf_kernel, select_criticisms, select_prototypes

from ._models import mlp


def naive_prototypes(K, m):
    """Greedy maximisation of J(S) = 2/(n|S|) sum_{i, j in S} K_ij - 1/|S|^2 sum_{i, j in S} K_ij."""
    n = len(K)
    chosen = []
    for _ in range(m):
        best, best_value = None, -np.inf
        for c in range(n):
            if c in chosen:
                continue
            S = chosen + [c]
            value = 2.0 / (n * len(S)) * K[:, S].sum() - K[np.ix_(S, S)].sum() / len(S) ** 2
            if value > best_value:
                best, best_value = c, value
        chosen.append(best)
    return chosen


def naive_criticisms(K, prototypes, m):
    """Greedy maximisation of sum_{l in C} |f(x_l)| + log det K_CC, f the witness function."""
    n = len(K)
    witness = K.mean(0) - K[prototypes].mean(0)
    chosen = []
    for _ in range(m):
        best, best_value = None, -np.inf
        for c in range(n):
            if c in chosen or c in prototypes:
                continue
            C = chosen + [c]
            value = np.abs(witness[C]).sum() + np.linalg.slogdet(K[np.ix_(C, C)])[1]
            if value > best_value:
                best, best_value = c, value
        chosen.append(best)
    return chosen


def test_hand_checked_line():
    # gamma=1 on 0, 1, 2, 10: the mean kernel value of 1 (1 + 2/e) is the largest, so 1 is the first
    # prototype; then the gain of c is 2/4 sum_i k(x_i, c) - (2 k(1, c) + 1) / 2: 0 for the lone point 10,
    # -0.175 for 0 and for 2. The witness with prototype {1}: f(10) = 1/4, f(0) = f(2) = (1 + 1/e + e^-4)/4 -
    # 1/e < 0, so 10 is the criticism.
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    protos, mmd2 = select_prototypes(X, 2, 1.0)
    assert protos.tolist() == [1, 3]
    e = np.exp(1.0)
    total = (4 + 4 / e + 2 / e ** 4) / 16  # 1/n^2 sum_ij k, dropping e^-64 and smaller terms
    assert mmd2[0] == pytest.approx(total - 2 * (1 + 2 / e) / 4 + 1, abs=1e-12)
    crits, witness = select_criticisms(X, np.array([1]), 1, 1.0)
    assert crits.tolist() == [3] and witness[0] == pytest.approx(0.25, abs=1e-12)
    table = MMDCritic(2, 1, gamma=1.0).fit(X).result_.to_frame()
    assert table["position"].tolist() == [1, 3, 0] and table["kind"].tolist() == ["prototype"] * 2 + ["criticism"]
    # with prototypes {1, 10}, f(0) = (1 + 1/e + e^-4)/4 - (1/e)/2 and f(2) equal it up to e^-64 terms; the tie
    # goes to the first row
    assert table.loc[2, "witness"] == pytest.approx((1 + 1 / e + np.exp(-4.0)) / 4 - 1 / e / 2, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_equals_naive_greedy(seed):
    rng = np.random.default_rng(seed)
    n, d = rng.integers(12, 40), rng.integers(1, 5)
    X = np.concatenate([rng.normal(size=(n // 2, d)), rng.normal(3.0, 0.5, size=(n - n // 2, d))])
    gamma = median_heuristic_gamma(X)
    K = sk_rbf(X, gamma=gamma)
    assert np.allclose(rbf_kernel(X, X, gamma), K, atol=1e-12)
    m, c = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    protos, mmd2 = select_prototypes(X, m, gamma, block_size=int(rng.integers(1, 50)))
    assert protos.tolist() == naive_prototypes(K, m)
    for r in range(m):
        S = protos[: r + 1]
        assert mmd2[r] == pytest.approx(K.mean() - 2 * K[:, S].mean() + K[np.ix_(S, S)].mean(), abs=1e-10)
    crits, witness = select_criticisms(X, protos, c, gamma)
    assert crits.tolist() == naive_criticisms(K, protos.tolist(), c)
    assert np.allclose(witness, K.mean(0)[crits] - K[protos].mean(0)[crits])


def test_median_heuristic():
    X = np.array([[0.0], [1.0], [3.0]])  # squared distances 1, 9, 4: median 4
    assert median_heuristic_gamma(X) == pytest.approx(1 / 8)
    assert median_heuristic_gamma(np.zeros((3, 2))) == 1.0
    big = np.random.default_rng(0).normal(size=(1500, 2))
    assert median_heuristic_gamma(big, 0) == median_heuristic_gamma(big, 0)  # seeded sample


def test_per_class_and_group_cells_match_direct_selection():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"], index=np.arange(100, 180))
    X["name"] = "x"  # a non-numeric column is ignored
    y = rng.integers(0, 2, 80)
    sex = np.where(rng.random(80) < 0.5, "F", "M")
    est = MMDCritic(3, 2).fit(X, y, sensitive_features=pd.Series(sex, name="sex"))
    table = est.result_.to_frame()
    values = X[["a", "b", "c"]].to_numpy()
    assert est.gamma_ == pytest.approx(median_heuristic_gamma(values))
    for (feature, group, cls), cell in table.groupby(["feature", "group", "class"]):
        mask = (y == cls) & ((sex == group) if feature == "sex" else True)
        member = np.flatnonzero(mask)
        K = sk_rbf(values[member], gamma=est.gamma_)
        protos = naive_prototypes(K, 3)
        assert cell[cell.kind == "prototype"]["position"].tolist() == member[protos].tolist()
        assert cell[cell.kind == "criticism"]["position"].tolist() == member[naive_criticisms(K, protos, 2)].tolist()
        assert (cell["row"] == cell["position"] + 100).all() and (cell["n"] == len(member)).all()
    assert set(table["feature"]) == {"overall", "sex"} and len(table) == 3 * 2 * 5


def test_standardize_and_embeddings():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2)) * [1.0, 1000.0]
    scaled = (X - X.mean(0)) / X.std(0)
    a = MMDCritic(2, 1, standardize=True).fit(X).result_.to_frame()
    b = MMDCritic(2, 1).fit(scaled).result_.to_frame()
    assert a["position"].tolist() == b["position"].tolist()
    model = mlp()
    Xm = torch.as_tensor(rng.normal(size=(25, 5)))
    with torch.no_grad():
        hidden = model[1](model[0](Xm)).numpy()
    via_model = MMDCritic(2, 1, model=model, layer="1").fit(Xm).result_.to_frame()
    assert via_model["position"].tolist() == MMDCritic(2, 1).fit(hidden).result_.to_frame()["position"].tolist()


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(AssayInputError, match="'n_prototypes'"):
        MMDCritic(0).fit(X)
    with pytest.raises(AssayInputError, match=r"'n_prototypes' \+ 'n_criticisms'.*6 row"):
        MMDCritic(5, 2).fit(X)
    with pytest.raises(AssayInputError, match="class 1"):
        MMDCritic(2, 1).fit(X, [0, 0, 0, 0, 1, 1])
    with pytest.raises(AssayInputError, match="'gamma'"):
        MMDCritic(gamma=0.0).fit(X)
    with pytest.raises(AssayInputError, match="numeric"):
        MMDCritic(1, 0).fit(pd.DataFrame({"a": list("abcdef")}))
    with pytest.raises(AssayInputError, match="'layer'"):
        MMDCritic(1, 0, model=mlp()).fit(X)


def test_conformance():
    from assay.testing import check_component

    assert "deterministic" in check_component(MMDCritic(2, 1))
