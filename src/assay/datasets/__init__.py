"""Real data sets bundled with assay, loaded offline from gzip-compressed package data.

* :func:`load_adult` - UCI Adult (census income), published train / test split; tabular, with
  sex, race and age group as sensitive features.
* :func:`load_german_credit` - UCI Statlog German Credit, decoded, with a cost matrix and sex,
  age group and foreign-worker status as sensitive features.
* :func:`load_digits_split` - scikit-learn's 8x8 digits as torch tensors, train / val / test.

Each returns a :class:`Dataset` of :class:`Split` objects. Loading never uses the network.
"""

from ._loaders import Dataset, Split, load_adult, load_digits_split, load_german_credit

__all__ = ["Dataset", "Split", "load_adult", "load_digits_split", "load_german_credit"]
