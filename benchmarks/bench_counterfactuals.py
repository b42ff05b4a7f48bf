"""Counterfactuals for rejected Adult applicants: assay vs DiCE, in the same run (issue 20).

    python benchmarks/bench_counterfactuals.py --rows 1000          # assay alone (project venv)
    /tmp/dicevenv/bin/python benchmarks/bench_counterfactuals.py    # with DiCE, in its own venv

DiCE (``dice-ml``) pins clash with the project's, so it lives in its own venv, with assay
imported from ``src/``::

    python3 -m venv /tmp/dicevenv
    /tmp/dicevenv/bin/pip install dice-ml -c constraints.txt
    /tmp/dicevenv/bin/pip install torch==2.13.0 matplotlib tqdm xxhash safetensors pyyaml -c constraints.txt

Model: ``train_sklearn_model(kind="gbm")`` on Adult train (seed 0). Queries: the first ``--rows``
test rows without missing values (DiCE refuses them) that the model rejects (predicts <=50K). Three counterfactuals per query, favourable class
>50K, with sex, race, age, native_country, marital_status and relationship held fixed (DiCE:
``features_to_vary`` = the others), ``education_num`` may not decrease (assay: ``monotone``; DiCE
has no monotone constraint, so its violations are counted). Both outputs are scored by the same
function: validity (share of queries with at least one counterfactual the model accepts), proximity
(mean distance of each query's nearest valid one: L1, numeric columns in training standard
deviations, 1 per changed category), sparsity (mean changed columns of the valid ones), diversity
(mean pairwise distance among a query's valid ones) and wall time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from assay.datasets import load_adult  # noqa: E402
from assay.explain import Counterfactuals  # noqa: E402
from assay.models import train_sklearn_model  # noqa: E402

FIXED = ["sex", "race", "age", "native_country", "marital_status", "relationship"]


def score(model, queries: pd.DataFrame, cfs: pd.DataFrame, train: pd.DataFrame, favorable=1) -> dict:
    """Validity, proximity, sparsity, diversity of ``cfs`` (a ``row`` column: the query's index label)."""
    numeric = [c for c in queries.columns if pd.api.types.is_numeric_dtype(queries[c])]
    categorical = [c for c in queries.columns if c not in numeric]
    sd = train[numeric].astype(float).std(ddof=0).replace(0, 1.0)
    cfs = cfs.reset_index(drop=True)  # missing values (Adult's '?') stay: the model handles them
    if not len(cfs):
        return {"validity": 0.0, "proximity": np.nan, "sparsity": np.nan, "diversity": np.nan, "monotone_violations": 0}
    features = cfs[queries.columns].copy()
    for c in numeric:
        features[c] = features[c].astype(float).astype(queries[c].dtype) if pd.api.types.is_integer_dtype(
            queries[c]) else features[c].astype(float)
    for c in categorical:
        features[c] = features[c].astype(str).astype(queries[c].dtype)
    valid = model.predict(features) == favorable
    original = queries.loc[cfs["row"].to_numpy()]
    moved = (features[numeric].astype(float).to_numpy() - original[numeric].astype(float).to_numpy()) / sd.to_numpy()
    changed_cat = features[categorical].astype(str).to_numpy() != original[categorical].astype(str).to_numpy()
    moved = np.nan_to_num(moved)  # a missing value that stays missing did not move
    distance = np.abs(moved).sum(axis=1) + changed_cat.sum(axis=1)
    n_changed = (np.abs(moved) > 1e-9).sum(axis=1) + changed_cat.sum(axis=1)
    frame = pd.DataFrame({"row": cfs["row"].to_numpy(), "valid": valid, "distance": distance, "n_changed": n_changed})
    ok = frame[frame["valid"]]
    diversity = []
    for _, group in ok.groupby("row"):  # a few counterfactuals per query: pairwise distances
        idx = group.index.to_numpy()
        if len(idx) < 2:
            continue
        num = moved[idx]
        cat = features[categorical].astype(str).to_numpy()[idx]
        pairs = [(np.abs(num[i] - num[j]).sum() + (cat[i] != cat[j]).sum()) for i in range(len(idx))
                 for j in range(i + 1, len(idx))]
        diversity.append(np.mean(pairs))
    violations = int((features["education_num"].to_numpy() < original["education_num"].to_numpy())[valid].sum())
    return {"validity": ok["row"].nunique() / len(queries), "proximity": float(ok.groupby("row")["distance"].min()
                                                                               .mean()),
            "sparsity": float(ok["n_changed"].mean()), "diversity": float(np.mean(diversity)) if diversity else np.nan,
            "monotone_violations": violations}


def run_assay(model, queries, train):
    start = time.perf_counter()
    result = Counterfactuals(model, immutable=FIXED, monotone={"education_num": "increasing"}, data=train,
                             desired=1, random_state=0).generate(queries, n=3)
    seconds = time.perf_counter() - start
    lines = result.counterfactuals[result.counterfactuals["valid"]]
    return seconds, lines


def run_dice(model, queries, train, y_train):
    import dice_ml

    frame = train.assign(income=np.asarray(y_train)).dropna()  # DiCE's data object takes no missing values
    continuous = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    data = dice_ml.Data(dataframe=frame, continuous_features=continuous, outcome_name="income")
    explainer = dice_ml.Dice(data, dice_ml.Model(model=model, backend="sklearn"), method="random")
    vary = [c for c in train.columns if c not in FIXED]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = explainer.generate_counterfactuals(queries, total_CFs=3, desired_class="opposite",
                                                 features_to_vary=vary, random_seed=0, verbose=False)
    seconds = time.perf_counter() - start
    parts = []
    for label, example in zip(queries.index, out.cf_examples_list):
        cfs = example.final_cfs_df
        if cfs is not None and len(cfs):
            parts.append(cfs.drop(columns=["income"], errors="ignore").assign(row=label))
    return seconds, (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*train.columns, "row"]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--dice-rows", type=int, default=None, help="DiCE on the first N queries only (default all)")
    parser.add_argument("--dice-chunk", type=int, default=100, help="DiCE queries per call (progress between)")
    args = parser.parse_args(argv)
    data = load_adult()
    train, y_train = data.train.X, np.asarray(data.train.y)
    model = train_sklearn_model(train, y_train, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="gbm", random_state=0)
    rejected = data.test.X[model.predict(data.test.X) == 0]
    queries = rejected.dropna().iloc[:args.rows]  # DiCE refuses queries with missing values
    print(f"{len(queries)} rejected Adult test applicants, 3 counterfactuals each, fixed: {', '.join(FIXED)}")
    results = {}
    seconds, lines = run_assay(model, queries, train)
    results["assay"] = {"seconds": seconds, **score(model, queries, lines, train)}
    if importlib.util.find_spec("dice_ml") is not None:
        from importlib.metadata import version

        # DiCE runs in chunks, reporting as it goes (about 2 s per query here): its first
        # --dice-rows queries are scored, and assay on the same queries beside them.
        name, seconds, parts = f"DiCE {version('dice-ml')} (random)", 0.0, []
        subset = queries.iloc[:args.dice_rows or len(queries)]
        for start in range(0, len(subset), args.dice_chunk):
            chunk = subset.iloc[start:start + args.dice_chunk]
            took, lines = run_dice(model, chunk, train, y_train)
            seconds, parts = seconds + took, parts + [lines]
            done = subset.iloc[:start + len(chunk)]
            so_far = score(model, done, pd.concat(parts, ignore_index=True), train)
            print(f"DiCE: {len(done)} queries, {seconds:.0f} s, validity {so_far['validity']:.3f}", flush=True)
        results[name] = {"seconds": seconds, **score(model, subset, pd.concat(parts, ignore_index=True), train)}
        if len(subset) < len(queries):
            took, lines = run_assay(model, subset, train)
            results[f"assay, DiCE's {len(subset)} queries"] = {"seconds": took, **score(model, subset, lines, train)}
    else:
        print("DiCE is not installed in this venv: skipped (see the module docstring)")
    table = pd.DataFrame(results).T
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
