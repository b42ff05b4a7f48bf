"""Loaders for the real data sets bundled with assay (read offline from package data).

The raw files are shipped gzip-compressed in ``assay/datasets/data/`` and read with
:mod:`importlib.resources`; nothing here touches the network. Parsed frames are cached per
process and every call builds fresh objects from the cache, so callers may modify what they get.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import numbers
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import SEED_NOT_GIVEN, check_random_state, check_scalar, renamed_seed

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is imported lazily
    import torch

__all__ = ["Dataset", "Split", "hold_out_validation", "load_adult", "load_diabetes_split", "load_digits_split", "load_german_credit"]


# --------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------


def _shape_of(x: Any) -> str:
    if isinstance(x, pd.DataFrame):
        return f"DataFrame{x.shape}"
    if isinstance(x, pd.Series):
        return f"Series({len(x)},)"
    if hasattr(x, "shape"):
        return f"{type(x).__name__}{tuple(x.shape)}"
    return type(x).__name__


@dataclass(frozen=True, repr=False)
class Split:
    """One part (train, validation or test) of a :class:`Dataset`.

    Attributes
    ----------
    X : pandas.DataFrame or torch.Tensor
        Features: a DataFrame of shape ``(n, d)`` for tabular data (index ``0..n-1``), a float32
        tensor of shape ``(n, 1, 8, 8)`` for images.
    y : pandas.Series or torch.Tensor
        Integer labels of shape ``(n,)`` (int64).
    sensitive_features : pandas.DataFrame or None
        One ``category`` column per sensitive attribute, aligned with ``X``; None if the data set
        has none.
    """

    X: pd.DataFrame | torch.Tensor
    y: pd.Series | torch.Tensor
    sensitive_features: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        n = len(self.y)
        lengths = {"X": len(self.X), "y": n}
        if self.sensitive_features is not None:
            lengths["sensitive_features"] = len(self.sensitive_features)
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
            raise AssayInputError(f"Inputs must have the same number of rows. Got {shown}.")

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        sf = (
            "None"
            if self.sensitive_features is None
            else f"[{', '.join(map(str, self.sensitive_features.columns))}]"
        )
        return (
            f"Split(n={len(self)}, X={_shape_of(self.X)}, y={_shape_of(self.y)}, "
            f"sensitive_features={sf})"
        )


@dataclass(frozen=True, repr=False)
class Dataset:
    """A bundled data set: its splits and what is needed to audit a model trained on it.

    Attributes
    ----------
    name : str
    train, test : Split
    val : Split or None
        A validation split, where the loader makes one.
    target_name : str
        Name of the label (``y.name`` for tabular sets).
    classes : tuple
        The label values, e.g. ``(0, 1)``.
    class_names : tuple of str
        Readable names of ``classes``, in the same order.
    favorable_label : int or None
        The label that is the favourable outcome for the person (fairness audits); None if the
        notion does not apply.
    categorical_features, numeric_features : tuple of str
        Columns of ``X`` that are categorical (dtype ``category``) / numeric (int64); both empty
        for image data.
    description : str
        Source, license, citation and the cleaning done.
    cost_matrix : pandas.DataFrame or None
        Misclassification costs: index = true class name (named ``"true"``), columns = predicted
        class name (named ``"predicted"``); None if the data set defines none.
    source, license, citation : str or None
        Where the data comes from (a DOI or URL), its license, and how to cite it (also in
        ``description``); an audit of the data set carries them to the model card and datasheet.
    """

    name: str
    train: Split
    test: Split
    val: Split | None
    target_name: str
    classes: tuple
    class_names: tuple
    favorable_label: int | None
    categorical_features: tuple[str, ...]
    numeric_features: tuple[str, ...]
    description: str
    cost_matrix: pd.DataFrame | None = None
    source: str | None = None
    license: str | None = None
    citation: str | None = None

    def __repr__(self) -> str:
        parts = [f"train={len(self.train)}"]
        if self.val is not None:
            parts.append(f"val={len(self.val)}")
        parts.append(f"test={len(self.test)}")
        return (
            f"Dataset(name={self.name!r}, {', '.join(parts)}, target={self.target_name!r}, "
            f"classes={self.classes!r})"
        )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _read_text(filename: str) -> str:
    """Decompress one bundled file (``assay/datasets/data/<filename>``) to text."""
    resource = resources.files(__package__).joinpath("data", filename)
    with resource.open("rb") as fh, gzip.open(fh, "rt", encoding="utf-8") as text:
        return text.read()


def _check_fraction(value: Any, name: str, owner: str) -> float:
    check_scalar(value, name, owner=owner, kind=numbers.Real, low=0.0, high=1.0, closed="neither")
    return float(value)


def _random_states(random_state: Any, n: int) -> list[int]:
    """Derive ``n`` integer random states for scikit-learn from ``random_state`` (int, None, Generator)."""
    rng = check_random_state(random_state, name="random_state")
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=n)]


def _stratified_split(
    indices: np.ndarray, y: np.ndarray, *, size: float, random_state: int, name: str, value: float
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of ``indices``; returns (rest, held_out), each in ascending order."""
    from sklearn.model_selection import train_test_split

    try:
        rest, held = train_test_split(
            indices, test_size=size, stratify=y, random_state=random_state, shuffle=True
        )
    except ValueError as exc:
        raise AssayInputError(
            f"'{name}'={value!r} cannot make a stratified split of {len(indices)} rows with "
            f"{len(np.unique(y))} classes: {exc}"
        ) from None
    return np.sort(rest), np.sort(held)


def _check_split_sizes(val_size: Any, test_size: Any, owner: str) -> tuple[float, float]:
    """Validation and test fractions, each in (0, 1), leaving rows for training."""
    val_size = _check_fraction(val_size, "val_size", owner)
    test_size = _check_fraction(test_size, "test_size", owner)
    if val_size + test_size >= 1:
        raise AssayInputError(
            f"The 'val_size' and 'test_size' parameters of {owner} must sum to less than 1 "
            f"(some rows must be left for training). Got val_size={val_size!r} and "
            f"test_size={test_size!r} (sum {val_size + test_size:g}) instead."
        )
    return val_size, test_size


def _train_val_test_rows(
    rows: np.ndarray, labels: np.ndarray, *, val_size: float, test_size: float, random_states: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified (train, val, test) subsets of ``rows`` (indices into ``labels``): the test
    share first, then the validation share of the whole from what is left."""
    rs_test, rs_val = random_states
    rest, test_rows = _stratified_split(
        rows, labels[rows], size=test_size, random_state=rs_test, name="test_size", value=test_size,
    )
    train_rows, val_rows = _stratified_split(
        rest, labels[rest], size=val_size / (1.0 - test_size), random_state=rs_val,
        name="val_size", value=val_size,
    )
    return train_rows, val_rows, test_rows


# --------------------------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------------------------

_ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
    "native_country",
)
_ADULT_NUMERIC = (
    "age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week",
)
_ADULT_CATEGORICAL = tuple(c for c in _ADULT_COLUMNS if c not in _ADULT_NUMERIC)
_ADULT_LABELS = {"<=50K": 0, ">50K": 1}
_ADULT_ROWS = {"adult.data.gz": 32_561, "adult.test.gz": 16_281}
_AGE_GROUPS = ("17-24", "25-44", "45-64", "65+")

_ADULT_DESCRIPTION = """\
UCI Adult (Census Income): 48,842 people from the 1994 US Current Population Survey; predict
whether income exceeds $50K a year.
Source: UCI Machine Learning Repository, https://doi.org/10.24432/C5XW20. Citation: Becker, B. &
Kohavi, R. (1996), Adult [Dataset]. License: CC BY 4.0.
Splits: the published train (adult.data, 32,561 rows) and test (adult.test, 16,281 rows) files.
Cleaning: spaces around values stripped; '?' read as missing (NaN; categories exclude '?');
workclass, occupation and native_country have missing values; the test file's first line
('|1x3 Cross validator') skipped and the trailing period of its labels removed; columns renamed
to snake_case; categorical columns share the same categories (sorted union of train and test
values) in both splits. y: 1 = '>50K' (favourable), 0 = '<=50K'. sensitive_features: sex, race
and age_group (age binned into 17-24, 25-44, 45-64, 65+).
"""


def _parse_adult_file(filename: str) -> tuple[pd.DataFrame, np.ndarray]:
    text = _read_text(filename)
    frame = pd.read_csv(
        io.StringIO(text),
        header=None,
        names=[*_ADULT_COLUMNS, "income"],
        dtype=str,
        skiprows=1 if filename == "adult.test.gz" else 0,
        skip_blank_lines=True,
        keep_default_na=False,
        na_filter=False,
        skipinitialspace=True,
    )
    frame = frame.apply(lambda column: column.str.strip())
    expected = _ADULT_ROWS[filename]
    if len(frame) != expected:  # pragma: no cover - guards against a corrupted package
        raise RuntimeError(f"{filename}: expected {expected} rows, parsed {len(frame)}.")
    labels = frame.pop("income").str.rstrip(".")
    unknown = set(labels) - set(_ADULT_LABELS)
    if unknown:  # pragma: no cover - guards against a corrupted package
        raise RuntimeError(f"{filename}: unknown income labels {sorted(unknown)}.")
    return frame, labels.map(_ADULT_LABELS).to_numpy(dtype=np.int64)


@functools.lru_cache(maxsize=1)
def _adult_frames() -> tuple[tuple[pd.DataFrame, np.ndarray], tuple[pd.DataFrame, np.ndarray]]:
    """Parsed (X, y) for train and test; cached, never handed out (callers get copies)."""
    raw = [_parse_adult_file(f) for f in ("adult.data.gz", "adult.test.gz")]
    categories = {
        c: sorted((set(raw[0][0][c]) | set(raw[1][0][c])) - {"?"}) for c in _ADULT_CATEGORICAL
    }
    parsed = []
    for frame, y in raw:
        X = pd.DataFrame(index=pd.RangeIndex(len(frame)))
        for column in _ADULT_COLUMNS:
            values = frame[column]
            if column in _ADULT_NUMERIC:
                X[column] = values.astype(np.int64)
            else:
                X[column] = pd.Categorical(
                    values.where(values != "?"), categories=categories[column]
                )
        y.flags.writeable = False
        parsed.append((X, y))
    return parsed[0], parsed[1]


def _adult_split(X_cached: pd.DataFrame, y_cached: np.ndarray) -> Split:
    X = X_cached.copy(deep=True)
    y = pd.Series(y_cached.copy(), name="income", dtype=np.int64)
    age_group = pd.cut(
        X["age"],
        bins=[-np.inf, 24, 44, 64, np.inf],
        labels=list(_AGE_GROUPS),
        right=True,
        ordered=True,
    )
    sensitive = pd.DataFrame(
        {"sex": X["sex"].copy(), "race": X["race"].copy(), "age_group": age_group}
    )
    return Split(X=X, y=y, sensitive_features=sensitive)


def load_adult() -> Dataset:
    """UCI Adult (Census Income), split into train / test exactly as published.

    Returns
    -------
    Dataset
        ``train``: 32,561 rows; ``test``: 16,281 rows; ``val``: None.
        ``X``: DataFrame with the 14 features (snake_case names), categorical columns of dtype
        ``category`` (same categories in both splits; missing values, ``?`` in the raw file,
        are NaN) and numeric columns of dtype int64. ``y``: int64 Series ``income``,
        1 = ``>50K`` (favourable), 0 = ``<=50K``. ``sensitive_features``: ``sex``, ``race`` and
        ``age_group`` (ordered: 17-24, 25-44, 45-64, 65+). ``X`` keeps sex and race: drop them
        yourself if the model must not see them.

    Source: UCI Machine Learning Repository (Becker & Kohavi, 1996), CC BY 4.0. Read from the
    package data; never uses the network.
    """
    (X_train, y_train), (X_test, y_test) = _adult_frames()
    return Dataset(
        name="adult",
        train=_adult_split(X_train, y_train),
        test=_adult_split(X_test, y_test),
        val=None,
        target_name="income",
        classes=(0, 1),
        class_names=("<=50K", ">50K"),
        favorable_label=1,
        categorical_features=_ADULT_CATEGORICAL,
        numeric_features=_ADULT_NUMERIC,
        description=_ADULT_DESCRIPTION,
        source="UCI Machine Learning Repository, https://doi.org/10.24432/C5XW20",
        license="CC BY 4.0",
        citation="Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine Learning Repository.",
    )


# --------------------------------------------------------------------------------------------
# German credit
# --------------------------------------------------------------------------------------------

_GERMAN_COLUMNS = (
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "status_sex", "other_debtors",
    "present_residence_since", "property", "age", "installment_plans", "housing",
    "number_of_existing_credits", "job", "number_of_people_liable_for", "telephone",
    "foreign_worker",
)
_GERMAN_NUMERIC = (
    "duration", "credit_amount", "installment_rate", "present_residence_since", "age",
    "number_of_existing_credits", "number_of_people_liable_for",
)
_GERMAN_CATEGORICAL = tuple(c for c in _GERMAN_COLUMNS if c not in _GERMAN_NUMERIC)
_GERMAN_FEMALE_CODES = ("A92", "A95")
_GERMAN_MALE_CODES = ("A91", "A93", "A94")

_GERMAN_DESCRIPTION = """\
Statlog (German Credit Data): 1,000 loan applicants of a German bank described by 20 attributes;
predict whether the credit risk is good or bad.
Source: UCI Machine Learning Repository, https://doi.org/10.24432/C5NC77. Citation: Hofmann, H.
(1994), Statlog (German Credit Data) [Dataset]. License: CC BY 4.0.
Cleaning: the A-codes of the 13 categorical attributes decoded with the data set's codebook into
readable values (surrounding spaces stripped; telephone and foreign_worker become 'yes'/'no');
categories are the codebook values that occur in the data, in codebook order; the 7 numeric
attributes are int64. y: 1 = good (code 1, favourable), 0 = bad (code 2); 700 good, 300 bad.
sensitive_features: sex ('male': A91/A93/A94, 'female': A92/A95, from status_sex; no applicant
has code A95, so sex is confounded with marital status), age_group ('>25' / '<=25') and
foreign_worker ('yes' / 'no'). Split: stratified by y (scikit-learn train_test_split), rows in
their original order within each split, index 0..n-1. cost_matrix: predicting good for a bad
applicant costs 5, predicting bad for a good applicant costs 1 (from the data set's documentation).
"""


def _decode(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


@functools.lru_cache(maxsize=1)
def _german_frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Decoded X (1,000 rows), y, and the raw status_sex codes; cached, callers get copies."""
    codebook = json.loads(_read_text("german_values_maps.json.gz"))
    rows = [line.split() for line in _read_text("german.data.gz").splitlines() if line.strip()]
    if len(rows) != 1000 or any(len(r) != 21 for r in rows):  # pragma: no cover - corrupted package
        raise RuntimeError("german.data: expected 1,000 rows of 21 fields.")
    columns = list(zip(*rows))
    X = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for name, values in zip(_GERMAN_COLUMNS, columns):
        if name in _GERMAN_NUMERIC:
            X[name] = np.asarray(values, dtype=np.int64)
            continue
        mapping = {code: _decode(meaning) for code, meaning in codebook[name].items()}
        unknown = set(values) - set(mapping)
        if unknown:  # pragma: no cover - corrupted package
            raise RuntimeError(f"german.data: unknown codes {sorted(unknown)} in {name}.")
        observed = set(values)
        categories = [mapping[code] for code in codebook[name] if code in observed]
        if set(categories) == {"no", "yes"}:
            categories = ["no", "yes"]
        X[name] = pd.Categorical([mapping[v] for v in values], categories=categories)
    credit = np.asarray(columns[-1], dtype=np.int64)
    y = np.where(credit == 1, 1, 0).astype(np.int64)  # 1 = good, 2 = bad -> 0
    status_sex = np.asarray(columns[_GERMAN_COLUMNS.index("status_sex")])
    for arr in (y, status_sex):
        arr.flags.writeable = False
    return X, y, status_sex


def _german_split(
    X: pd.DataFrame, y: np.ndarray, status_sex: np.ndarray, rows: np.ndarray
) -> Split:
    X_part = X.iloc[rows].reset_index(drop=True)  # iloc with an array copies
    codes = status_sex[rows]
    sex = np.where(np.isin(codes, _GERMAN_FEMALE_CODES), "female", "male")
    age = X_part["age"].to_numpy()
    sensitive = pd.DataFrame(
        {
            "sex": pd.Categorical(sex, categories=["female", "male"]),
            "age_group": pd.Categorical(
                np.where(age > 25, ">25", "<=25"), categories=["<=25", ">25"], ordered=True
            ),
            "foreign_worker": pd.Categorical(
                X_part["foreign_worker"].astype(str), categories=["no", "yes"]
            ),
        }
    )
    return Split(
        X=X_part,
        y=pd.Series(y[rows].copy(), name="credit", dtype=np.int64),
        sensitive_features=sensitive,
    )


def _german_cost_matrix() -> pd.DataFrame:
    return pd.DataFrame(
        [[0, 5], [1, 0]],
        index=pd.Index(["bad", "good"], name="true"),
        columns=pd.Index(["bad", "good"], name="predicted"),
    )


def load_german_credit(*, test_size: float = 0.3, random_state: int | None = 0,
                       seed: Any = SEED_NOT_GIVEN) -> Dataset:
    """UCI Statlog German Credit, decoded to readable values, with a stratified train / test split.

    Parameters
    ----------
    test_size : float in (0, 1)
        Fraction of the 1,000 rows put in the test split.
    random_state : int, None or numpy Generator
        Seeds the split; the same int gives the same split. ``seed=`` is a deprecated alias.

    Returns
    -------
    Dataset
        ``train`` / ``test`` (stratified by ``y``; 700 / 300 rows by default), ``val``: None.
        ``X``: DataFrame with the 20 attributes (13 ``category`` columns decoded from the
        A-codes, 7 int64 columns). ``y``: int64 Series ``credit``, 1 = good (favourable),
        0 = bad. ``sensitive_features``: ``sex`` (from status_sex), ``age_group`` (``>25`` /
        ``<=25``) and ``foreign_worker`` (``yes`` / ``no``). ``cost_matrix``: 5 for predicting
        good for a bad applicant, 1 for predicting bad for a good one.

    Source: UCI Machine Learning Repository (Hofmann, 1994), CC BY 4.0. Read from the package
    data; never uses the network.
    """
    owner = "load_german_credit"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    test_size = _check_fraction(test_size, "test_size", owner)
    (random_state,) = _random_states(random_state, 1)
    X, y, status_sex = _german_frame()
    train_rows, test_rows = _stratified_split(
        np.arange(len(y)), y, size=test_size, random_state=random_state,
        name="test_size", value=test_size,
    )
    return Dataset(
        name="german_credit",
        train=_german_split(X, y, status_sex, train_rows),
        test=_german_split(X, y, status_sex, test_rows),
        val=None,
        target_name="credit",
        classes=(0, 1),
        class_names=("bad", "good"),
        favorable_label=1,
        categorical_features=_GERMAN_CATEGORICAL,
        numeric_features=_GERMAN_NUMERIC,
        description=_GERMAN_DESCRIPTION,
        cost_matrix=_german_cost_matrix(),
        source="UCI Machine Learning Repository, https://doi.org/10.24432/C5NC77",
        license="CC BY 4.0",
        citation="Hofmann, H. (1994). Statlog (German Credit Data) [Dataset]. UCI Machine Learning Repository.",
    )


# --------------------------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------------------------

_DIGITS_DESCRIPTION = """\
Optical recognition of handwritten digits: 1,797 8x8 images of the digits 0-9 (each pixel the
count, 0-16, of set pixels in a 4x4 block of a 32x32 bitmap), as shipped with scikit-learn
(sklearn.datasets.load_digits).
Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits" (Alpaydin,
E. & Kaynak, C., 1998), https://doi.org/10.24432/C50P49. License: CC BY 4.0.
Processing: pixels divided by 16 to lie in [0, 1]; X is a float32 tensor of shape (n, 1, 8, 8),
y an int64 tensor of shape (n,). Split: stratified train / val / test (scikit-learn
train_test_split), images in their original order within each split.
"""


def load_digits_split(
    *, val_size: float = 0.2, test_size: float = 0.2, random_state: int | None = 0, seed: Any = SEED_NOT_GIVEN
) -> Dataset:
    """scikit-learn's 8x8 digits as torch tensors, with stratified train / val / test splits.

    Parameters
    ----------
    val_size, test_size : float in (0, 1)
        Fractions of all 1,797 images put in the validation and test splits; their sum must be
        below 1.
    random_state : int, None or numpy Generator
        Seeds the split; the same int gives the same split. ``seed=`` is a deprecated alias.

    Returns
    -------
    Dataset
        ``train`` / ``val`` / ``test`` (1,077 / 360 / 360 images by default). ``X``: float32
        tensor of shape ``(n, 1, 8, 8)`` with values in [0, 1]; ``y``: int64 tensor of shape
        ``(n,)``; ``sensitive_features``: None. Classes 0-9, ``favorable_label`` None.

    Source: scikit-learn's copy of the UCI "Optical Recognition of Handwritten Digits" data
    (CC BY 4.0); ships with scikit-learn, never uses the network.
    """
    import torch
    from sklearn.datasets import load_digits

    owner = "load_digits_split"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    val_size, test_size = _check_split_sizes(val_size, test_size, owner)
    rs_test, rs_val = _random_states(random_state, 2)

    bunch = load_digits()
    images = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
    images = images.reshape(-1, 1, 8, 8)
    labels = np.asarray(bunch.target, dtype=np.int64)

    train_rows, val_rows, test_rows = _train_val_test_rows(
        np.arange(len(labels)), labels, val_size=val_size, test_size=test_size, random_states=(rs_test, rs_val))

    def split(rows: np.ndarray) -> Split:
        return Split(
            X=torch.from_numpy(np.ascontiguousarray(images[rows])),
            y=torch.from_numpy(labels[rows].copy()),
            sensitive_features=None,
        )

    return Dataset(
        name="digits",
        train=split(train_rows),
        test=split(test_rows),
        val=split(val_rows),
        target_name="digit",
        classes=tuple(range(10)),
        class_names=tuple(str(d) for d in range(10)),
        favorable_label=None,
        categorical_features=(),
        numeric_features=(),
        description=_DIGITS_DESCRIPTION,
        source="UCI Machine Learning Repository, https://doi.org/10.24432/C50P49 (as shipped with scikit-learn)",
        license="CC BY 4.0",
        citation=("Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten Digits [Dataset]. "
                  "UCI Machine Learning Repository."),
    )


# --------------------------------------------------------------------------------------------
# Diabetes (regression)
# --------------------------------------------------------------------------------------------

_DIABETES_DESCRIPTION = """\
Diabetes (Efron, Hastie, Johnstone & Tibshirani, 2004): 442 diabetes patients, ten baseline
variables (age, sex, body mass index, average blood pressure, six blood serum measurements) and
the target, a quantitative measure of disease progression one year after baseline (25-346).
As shipped with scikit-learn (sklearn.datasets.load_diabetes, scaled=False: raw values).
Source: https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html. Citation: Efron, B., Hastie,
T., Johnstone, I. & Tibshirani, R. (2004), "Least Angle Regression", Annals of Statistics 32(2),
407-499. License: distributed with scikit-learn (BSD-3-Clause); the original source states no
terms of its own.
Sex is coded 1 / 2 and neither the source nor scikit-learn documents which code is which, so the
groups are named 'sex=1' and 'sex=2' (not female / male). age_band: age in years binned into
<40, 40-59, 60+. Split: train / val / test stratified by sex x age_band (scikit-learn
train_test_split), rows in their original order within each split.
"""
_DIABETES_COLUMNS = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
_AGE_BANDS = ("<40", "40-59", "60+")


def load_diabetes_split(
    *, val_size: float = 0.2, test_size: float = 0.3, random_state: int | None = 0
) -> Dataset:
    """scikit-learn's diabetes regression data (raw values) with sex and an age band as groups.

    Parameters
    ----------
    val_size, test_size : float in (0, 1)
        Fractions of the 442 patients put in the validation and test splits (sum below 1).
    random_state : int, None or numpy Generator
        Seeds the split; the same int gives the same split.

    Returns
    -------
    Dataset
        ``train`` / ``val`` / ``test`` (220 / 89 / 133 rows by default), stratified by sex x
        age band. ``X``: DataFrame of the ten baseline variables in raw units (``age`` in
        years, ``sex`` 1 or 2, ``bmi``, ``bp``, ``s1``..``s6``; float64). ``y``: float64 Series
        ``progression`` (disease progression after one year). ``sensitive_features``:
        ``sex`` (categories ``"sex=1"``, ``"sex=2"`` -- which code is female is not
        documented by the source, so no such name is invented) and ``age_band`` (``"<40"``,
        ``"40-59"``, ``"60+"``). A regression set: ``classes``, ``class_names`` are empty and
        ``favorable_label`` is None.

    Source: Efron et al. (2004), as shipped with scikit-learn (BSD-3-Clause); never uses the
    network. See ``description``.
    """
    from sklearn.datasets import load_diabetes

    owner = "load_diabetes_split"
    val_size, test_size = _check_split_sizes(val_size, test_size, owner)
    rs_test, rs_val = _random_states(random_state, 2)
    bunch = load_diabetes(scaled=False, as_frame=True)
    frame = bunch.frame
    X_all = frame[list(_DIABETES_COLUMNS)].astype(np.float64).reset_index(drop=True)
    y_all = frame["target"].to_numpy(dtype=np.float64)
    sex = pd.Categorical([f"sex={int(v)}" for v in X_all["sex"]], categories=["sex=1", "sex=2"])
    band = pd.Categorical(pd.cut(X_all["age"], [-np.inf, 39.5, 59.5, np.inf], labels=list(_AGE_BANDS)),
                          categories=list(_AGE_BANDS))
    cells = np.asarray(sex.codes, dtype=np.int64) * len(_AGE_BANDS) + np.asarray(band.codes, dtype=np.int64)
    train_rows, val_rows, test_rows = _train_val_test_rows(
        np.arange(len(y_all)), cells, val_size=val_size, test_size=test_size, random_states=(rs_test, rs_val))

    def split(rows: np.ndarray) -> Split:
        sensitive = pd.DataFrame({"sex": sex[rows], "age_band": band[rows]})
        return Split(X=X_all.iloc[rows].reset_index(drop=True),
                     y=pd.Series(y_all[rows], name="progression"), sensitive_features=sensitive)

    return Dataset(
        name="diabetes",
        train=split(train_rows),
        test=split(test_rows),
        val=split(val_rows),
        target_name="progression",
        classes=(),
        class_names=(),
        favorable_label=None,
        categorical_features=(),
        numeric_features=_DIABETES_COLUMNS,
        description=_DIABETES_DESCRIPTION,
    )


def _take(split: Split, rows: np.ndarray) -> Split:
    """The rows ``rows`` of a split (frames re-indexed 0..m-1, tensors indexed)."""
    def pick(part: Any) -> Any:
        if part is None:
            return None
        if isinstance(part, (pd.DataFrame, pd.Series)):
            return part.iloc[rows].reset_index(drop=True)
        import torch

        return part[torch.as_tensor(rows)]

    return Split(X=pick(split.X), y=pick(split.y), sensitive_features=pick(split.sensitive_features))


def hold_out_validation(dataset: Dataset, *, val_size: float = 0.2, random_state: int | None = 0) -> Dataset:
    """``dataset`` with a validation split held out of its training split (stratified by label).

    Checks that fit something on held-out data (temperature scaling, conformal sets, OOD
    thresholds) read the "val" split; Adult and German credit ship without one. A data set that
    already has a validation split is refused, so no row is used twice.
    """
    if not isinstance(dataset, Dataset):
        raise AssayInputError(f"'dataset' must be an assay.datasets.Dataset. Got {type(dataset).__name__}.")
    if dataset.val is not None:
        raise AssayInputError(f"'dataset' {dataset.name!r} already has a validation split ({len(dataset.val)} rows).")
    val_size = _check_fraction(val_size, "val_size", "hold_out_validation")
    y = np.asarray(dataset.train.y)
    train_rows, val_rows = _stratified_split(np.arange(len(y)), y, size=val_size, random_state=random_state,
                                             name="val_size", value=val_size)
    from dataclasses import replace

    return replace(dataset, train=_take(dataset.train, train_rows), val=_take(dataset.train, val_rows))
