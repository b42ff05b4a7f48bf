"""The Adult OOD benchmark: :func:`load_adult_ood` and :class:`AdultOOD`.

Adult without a subgroup (in-distribution train / test) and the OOD tables of
:data:`ADULT_OOD_SETS`, with Adult's columns and dtypes: the held-out subgroup, and German credit
applicants mapped onto Adult's features. Every name stays importable from
:mod:`assay.datasets.ood`.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import SEED_NOT_GIVEN, renamed_seed
from . import _loaders
from ._loaders import Split
from .ood_images import _seeds

__all__ = ["ADULT_OOD_SETS", "AdultOOD", "load_adult_ood"]

#: Names (keys of :attr:`AdultOOD.ood`) of the OOD tables made by :func:`load_adult_ood`.
ADULT_OOD_SETS = ("german_credit", "held_out_subgroup")


def _subset(split: Split, rows: np.ndarray) -> Split:
    """Rows of a tabular split, re-indexed ``0..n-1``."""
    sf = split.sensitive_features
    return Split(
        X=split.X.iloc[rows].reset_index(drop=True),
        y=split.y.iloc[rows].reset_index(drop=True),
        sensitive_features=None if sf is None else sf.iloc[rows].reset_index(drop=True),
    )



_OPS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge, "in": None, "not in": None,
}

# German status_sex code -> (Adult sex, candidate Adult marital statuses).
_GERMAN_STATUS_SEX = {
    "A91": ("Male", ("Divorced", "Separated")),
    "A92": ("Female", ("Divorced", "Separated", "Married-civ-spouse")),
    "A93": ("Male", ("Never-married",)),
    "A94": ("Male", ("Married-civ-spouse", "Widowed")),
    "A95": ("Female", ("Never-married",)),
}
# German job -> candidate Adult occupations.
_GERMAN_JOB = {
    "unemployed/ unskilled - non-resident": ("Handlers-cleaners", "Other-service"),
    "unskilled - resident": ("Handlers-cleaners", "Other-service"),
    "skilled employee/ official": (
        "Adm-clerical", "Craft-repair", "Machine-op-inspct", "Protective-serv", "Sales",
        "Tech-support", "Transport-moving",
    ),
    "management/ self-employed/ highly qualified employee/ officer": (
        "Exec-managerial", "Prof-specialty",
    ),
}
# Countries of origin of most foreign workers in (West) Germany that are Adult categories.
_FOREIGN_WORKER_COUNTRIES = ("Greece", "Italy", "Portugal", "Yugoslavia")


@dataclass(frozen=True, repr=False)
class AdultOOD:
    """Adult without a subgroup, and OOD tables with Adult's columns (see :func:`load_adult_ood`).

    Attributes
    ----------
    train, test : Split
        In distribution: Adult's published train / test files without the held-out subgroup;
        ``X`` with Adult's 14 columns and dtypes, ``y`` the income label (1 = >50K),
        ``sensitive_features`` sex, race and age_group as in :func:`load_adult`; index 0..n-1.
    ood : dict of str -> pandas.DataFrame
        ``"german_credit"`` and ``"held_out_subgroup"``, each with exactly Adult's columns and
        dtypes (same categories), index 0..m-1.
    ood_labels : dict of str -> pandas.Series
        Income labels where they exist: ``"held_out_subgroup"`` only (German credit applicants
        have no income label).
    subgroup : str
        The held-out subgroup, e.g. ``"age >= 60"``.
    german_mapped : dict of str -> str
        Adult column -> how it was derived from the German credit attributes.
    german_filled : dict of str -> object
        Adult column without a German counterpart -> the constant it was filled with (the mode
        of a categorical, the median of a numeric column of ``train``).
    categorical_features, numeric_features : tuple of str
        Adult's categorical / numeric columns.
    description : str
    """

    train: Split
    test: Split
    ood: dict
    ood_labels: dict
    subgroup: str
    german_mapped: dict
    german_filled: dict
    categorical_features: tuple
    numeric_features: tuple
    description: str

    def __repr__(self) -> str:
        sets = ", ".join(f"{k}={len(v)}" for k, v in self.ood.items())
        return (
            f"AdultOOD(train={len(self.train)}, test={len(self.test)}, "
            f"subgroup={self.subgroup!r}, ood={{{sets}}})"
        )


def _check_subgroup(value: Any, X: pd.DataFrame, owner: str) -> tuple[str, str, Any]:
    expected = (
        "a (column, operator, value) triple with one of Adult's columns, an operator among "
        + ", ".join(repr(o) for o in _OPS)
        + " and a value of the column (a number for numeric columns, a category for "
        "categorical ones; a list of them for 'in' / 'not in'), e.g. ('age', '>=', 60)"
    )
    bad = AssayInputError(
        f"The 'held_out_subgroup' parameter of {owner} must be {expected}. "
        f"Got {value!r} instead."
    )
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise bad
    column, op, target = value
    if not isinstance(column, str) or column not in X.columns or op not in _OPS:
        raise bad
    many = op in ("in", "not in")
    targets = list(target) if many and isinstance(target, (list, tuple, set, frozenset)) else None
    if many and not targets:
        raise bad
    values = targets if many else [target]
    if column in _loaders._ADULT_NUMERIC:
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            raise bad
    else:
        categories = set(X[column].cat.categories)
        unknown = [v for v in values if v not in categories]
        if unknown:
            raise AssayInputError(
                f"The 'held_out_subgroup' parameter of {owner} names value(s) {unknown} that "
                f"are not categories of Adult's '{column}' column: "
                f"{sorted(map(str, categories))}."
            )
        if op not in ("==", "!=", "in", "not in"):
            raise bad
    return column, op, (tuple(values) if many else target)


def _subgroup_mask(X: pd.DataFrame, column: str, op: str, target: Any) -> np.ndarray:
    """Rows in the subgroup; a missing value (NaN) is never in it."""
    values = X[column]
    present = values.notna().to_numpy()
    if op in ("in", "not in"):
        inside = values.isin(list(target)).to_numpy()
        mask = inside if op == "in" else ~inside
    elif column in _loaders._ADULT_NUMERIC:
        mask = np.asarray(_OPS[op](values.to_numpy(), target))
    else:
        mask = np.asarray(_OPS[op](values.astype(object).to_numpy(), target))
    return mask & present


def _draw(
    rng: np.random.Generator, counts: pd.Series, candidates: Sequence[str], size: int
) -> np.ndarray:
    """``size`` draws among ``candidates`` with probabilities proportional to ``counts``."""
    weights = np.array([counts.get(c, 0) for c in candidates], dtype=np.float64) + 1e-9
    return np.asarray(candidates, dtype=object)[
        rng.choice(len(candidates), size=size, p=weights / weights.sum())
    ]


def _german_as_adult(
    train_X: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]]:
    """The 1,000 German credit applicants as rows with Adult's columns and dtypes."""
    german, _, status_sex = _loaders._german_frame()
    n = len(german)
    codes = np.asarray(status_sex)
    columns: dict[str, np.ndarray] = {"age": german["age"].to_numpy(dtype=np.int64)}

    sex = np.empty(n, dtype=object)
    marital = np.empty(n, dtype=object)
    for code, (adult_sex, candidates) in _GERMAN_STATUS_SEX.items():
        rows = np.flatnonzero(codes == code)
        if rows.size == 0:
            continue
        same_sex = train_X.loc[train_X["sex"] == adult_sex, "marital_status"]
        sex[rows] = adult_sex
        marital[rows] = _draw(rng, same_sex.value_counts(), candidates, rows.size)
    columns["sex"], columns["marital_status"] = sex, marital

    relationship = np.empty(n, dtype=object)
    cells = pd.DataFrame({"sex": sex, "marital": marital})
    for (s, m), rows in cells.groupby(["sex", "marital"]).indices.items():
        same = train_X.loc[
            (train_X["sex"] == s) & (train_X["marital_status"] == m), "relationship"
        ].value_counts()
        relationship[rows] = _draw(rng, same, list(same.index), len(rows))
    columns["relationship"] = relationship

    occupation = np.empty(n, dtype=object)
    occupation_counts = train_X["occupation"].value_counts()
    jobs = german["job"].astype(str).to_numpy()
    for job, candidates in _GERMAN_JOB.items():
        rows = np.flatnonzero(jobs == job)
        if rows.size:
            occupation[rows] = _draw(rng, occupation_counts, candidates, rows.size)
    columns["occupation"] = occupation

    foreign = german["foreign_worker"].astype(str).to_numpy() == "yes"
    country = np.full(n, "Germany", dtype=object)
    country[foreign] = _draw(
        rng, train_X["native_country"].value_counts(), _FOREIGN_WORKER_COUNTRIES,
        int(foreign.sum()),
    )
    columns["native_country"] = country

    mapped = {
        "age": "German 'age' (years), unchanged.",
        "sex": "From German 'status_sex': codes A91/A93/A94 -> 'Male', A92/A95 -> 'Female'.",
        "marital_status": (
            "From German 'status_sex': A93 (male single) -> 'Never-married'; A91 (male "
            "divorced/separated) -> 'Divorced' or 'Separated'; A92 (female divorced/separated/"
            "married) -> 'Divorced', 'Separated' or 'Married-civ-spouse'; A94 (male married/"
            "widowed) -> 'Married-civ-spouse' or 'Widowed'; where several fit, drawn (seeded) "
            "with the frequencies of Adult's training rows of the same sex."
        ),
        "relationship": (
            "Derived from the mapped sex and marital_status: drawn (seeded) with the "
            "frequencies of Adult's training rows of the same sex and marital status (married "
            "men -> almost always 'Husband', married women -> 'Wife')."
        ),
        "occupation": (
            "From German 'job': unskilled (resident or not, including unemployed) -> "
            "'Handlers-cleaners' or 'Other-service'; 'skilled employee/ official' -> one of "
            + ", ".join(repr(o) for o in _GERMAN_JOB["skilled employee/ official"])
            + "; management/ self-employed/ highly qualified -> 'Exec-managerial' or "
            "'Prof-specialty'; drawn (seeded) with Adult's training frequencies."
        ),
        "native_country": (
            "From German 'foreign_worker': 'no' -> 'Germany'; 'yes' (963 of 1,000) -> one of "
            + ", ".join(repr(c) for c in _FOREIGN_WORKER_COUNTRIES)
            + " (origins of most foreign workers in West Germany that are Adult categories), "
            "drawn (seeded) with Adult's training frequencies. An assumption: the data do not "
            "record the country."
        ),
    }

    filled: dict[str, Any] = {}
    for column in ("workclass", "education", "race"):
        filled[column] = str(train_X[column].mode(dropna=True).iloc[0])
    education_num = train_X.loc[train_X["education"] == filled["education"], "education_num"]
    filled["education_num"] = int(education_num.mode().iloc[0])  # consistent with education
    for column in ("fnlwgt", "capital_gain", "capital_loss", "hours_per_week"):
        filled[column] = int(round(float(train_X[column].median())))
    for column, value in filled.items():
        columns[column] = np.full(n, value, dtype=np.int64 if isinstance(value, int) else object)

    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for column in _loaders._ADULT_COLUMNS:
        values = columns[column]
        if column in _loaders._ADULT_NUMERIC:
            frame[column] = np.asarray(values, dtype=np.int64)
        else:
            frame[column] = pd.Categorical(values, dtype=train_X[column].dtype)
    ordered_mapped = {c: mapped[c] for c in _loaders._ADULT_COLUMNS if c in mapped}
    ordered_filled = {c: filled[c] for c in _loaders._ADULT_COLUMNS if c in filled}
    return frame, ordered_mapped, ordered_filled


def load_adult_ood(
    *,
    held_out_subgroup: tuple[str, str, Any] | list = ("age", ">=", 60),
    random_state: int | None = 0,
    seed: Any = SEED_NOT_GIVEN,
) -> AdultOOD:
    """Adult without a subgroup (in distribution) and two OOD tables with Adult's columns.

    Parameters
    ----------
    held_out_subgroup : (column, operator, value), default ("age", ">=", 60)
        The subgroup removed from Adult's train and test files: rows where ``X[column] <op>
        value``. ``operator`` is one of ``==, !=, <, <=, >, >=, in, not in`` (``in`` / ``not
        in`` take a list); categorical columns take categories of that column and only
        ``==, !=, in, not in``, e.g. ``("workclass", "in", ["Self-emp-inc",
        "Self-emp-not-inc"])``. Rows with a missing value in ``column`` are kept in
        distribution.
    random_state : int, None or numpy Generator
        Seeds the German credit mapping where a German value fits several Adult categories.
        ``seed=`` is a deprecated alias.

    Returns
    -------
    AdultOOD
        ``train`` / ``test``: Adult's published train / test files (:func:`load_adult`) without
        the subgroup (with the default, 29,917 / 14,870 rows).

        ``ood["held_out_subgroup"]``: the removed rows, those of the train file first, then
        those of the test file (4,055 rows with the default), with their income labels in
        ``ood_labels["held_out_subgroup"]``. A model trained on ``train`` never saw anyone like
        them: covariate (subpopulation) shift with real labels.

        ``ood["german_credit"]``: the 1,000 applicants of UCI Statlog German Credit mapped onto
        Adult's columns: age, sex, marital_status, relationship, occupation and native_country
        derived from German attributes (``german_mapped`` says how), the other 8 columns -
        workclass, fnlwgt, education, education_num, race, capital_gain, capital_loss,
        hours_per_week - have no German counterpart and are filled with the mode / median of
        ``train`` (``german_filled`` gives the values; education_num is the one that goes with
        the filled education). This is an approximation: a different population (German bank
        customers, 1970s-90s) expressed in Adult's vocabulary, with constant columns where
        nothing is known - a dataset shift, not a faithful translation. No missing values.

        Both OOD frames have exactly Adult's 14 columns and dtypes (same categories), so any
        pipeline fitted on ``train.X`` (e.g. :func:`assay.models.train_sklearn_model`) can
        predict on them.

    Notes
    -----
    Read from the package data (UCI Adult and Statlog German Credit, CC BY 4.0); never uses
    the network.
    """
    from ._loaders import load_adult

    owner = "load_adult_ood"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    (rng,) = _seeds(random_state, 1)
    adult = load_adult()
    column, op, target = _check_subgroup(held_out_subgroup, adult.train.X, owner)
    shown = list(target) if isinstance(target, tuple) else target
    subgroup = f"{column} {op} {shown!r}"
    in_train = _subgroup_mask(adult.train.X, column, op, target)
    in_test = _subgroup_mask(adult.test.X, column, op, target)
    for part, mask in (("train", in_train), ("test", in_test)):
        if not mask.any() or mask.all():
            raise AssayInputError(
                f"The 'held_out_subgroup' parameter of {owner} must select some but not all "
                f"rows of Adult's {part} file. Got {held_out_subgroup!r}, which selects "
                f"{int(mask.sum())} of {len(mask)}."
            )
    train = _subset(adult.train, np.flatnonzero(~in_train))
    test = _subset(adult.test, np.flatnonzero(~in_test))
    if train.y.nunique() < 2:
        raise AssayInputError(
            f"The 'held_out_subgroup' parameter of {owner} leaves a single income class in the "
            f"training split. Got {held_out_subgroup!r}."
        )
    held_X = pd.concat(
        [adult.train.X.iloc[np.flatnonzero(in_train)], adult.test.X.iloc[np.flatnonzero(in_test)]],
        ignore_index=True,
    )
    held_y = pd.concat(
        [adult.train.y.iloc[np.flatnonzero(in_train)], adult.test.y.iloc[np.flatnonzero(in_test)]],
        ignore_index=True,
    )
    german, mapped, filled = _german_as_adult(train.X, rng)
    description = (
        "OOD benchmark on UCI Adult (Becker & Kohavi 1996, CC BY 4.0). In distribution: "
        f"Adult's published train / test files without the subgroup {subgroup}. OOD: "
        "'held_out_subgroup' - the removed rows (train file first, then test file), with "
        "income labels; 'german_credit' - the 1,000 applicants of UCI Statlog German Credit "
        "(Hofmann 1994, CC BY 4.0) mapped onto Adult's columns (approximate: 6 columns derived, "
        "8 filled with the training mode/median; see german_mapped / german_filled)."
    )
    return AdultOOD(
        train=train,
        test=test,
        ood={"german_credit": german, "held_out_subgroup": held_X},
        ood_labels={"held_out_subgroup": held_y},
        subgroup=subgroup,
        german_mapped=mapped,
        german_filled=filled,
        categorical_features=_loaders._ADULT_CATEGORICAL,
        numeric_features=_loaders._ADULT_NUMERIC,
        description=description,
    )
