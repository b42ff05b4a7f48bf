"""Conformal prediction sets at scale: assay vs MAPIE 1.6 vs a bare NumPy floor (issue 13).

    python benchmarks/_bench_conformal.py                # 90,000 calibration + 100,000 test rows, 10 classes
    python benchmarks/_bench_conformal.py --quick        # 9,000 + 10,000 rows

Functions for ``bench_calibration.py`` (the lead merges the three parts); runnable alone.

Data: logits ~ N(0, 2^2) per class, probabilities their softmax, labels drawn from the
probabilities (a calibrated model); 40 groups (int codes, unequal sizes) for Mondrian.
Timed, each as calibration + prediction sets on the test rows (median of ``--repeats`` runs):

* LAC: MAPIE ``SplitConformalClassifier(conformity_score="lac", prefit=True)`` on a pass-through
  estimator (``predict_proba(X) = X``) -- ``conformalize`` + ``predict_set``; the floor: one
  quantile (``np.quantile(..., method="lower")``) and one comparison; assay ``ConformalClassifier``.
* APS: MAPIE with the APS score without its random term (U = 0; ``include_last_label=True``),
  the floor (sort, cumulative sums, one quantile, the first label reaching it, one comparison),
  and assay ``ConformalClassifier(method="aps")``.
* Mondrian LAC with 40 groups vs assay's marginal LAC.

Sets are asserted equal (assay == MAPIE == floor) before anything is reported.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, median_seconds, print_machine

ALPHA = 0.1


def make_conformal_data(n_cal: int = 90_000, n_test: int = 100_000, n_classes: int = 10, n_groups: int = 40,
                        seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n_cal + n_test
    logits = rng.normal(0, 2, (n, n_classes))
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    y = (proba.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, n_classes - 1)
    groups = rng.choice(n_groups, n, p=rng.dirichlet(np.full(n_groups, 5.0)))
    return {"p_cal": proba[:n_cal], "y_cal": y[:n_cal], "p_test": proba[n_cal:], "g_cal": groups[:n_cal],
            "g_test": groups[n_cal:]}


def _k(n: int) -> float:
    return np.ceil((n + 1) * (1 - ALPHA)) / n


def floor_lac(p_cal: np.ndarray, y_cal: np.ndarray, p_test: np.ndarray) -> np.ndarray:
    scores = 1.0 - p_cal[np.arange(len(y_cal)), y_cal]
    q = np.quantile(scores, _k(len(scores)), method="lower")
    return p_test >= 1.0 - q - 1e-8


def floor_aps(p_cal: np.ndarray, y_cal: np.ndarray, p_test: np.ndarray) -> np.ndarray:
    order = np.argsort(p_cal, axis=1)[:, ::-1]
    cum = np.cumsum(np.take_along_axis(p_cal, order, axis=1), axis=1)
    scores = cum[np.arange(len(y_cal)), np.argmax(order == y_cal[:, None], axis=1)]
    q = np.quantile(scores, _k(len(scores)), method="lower")
    order = np.argsort(p_test, axis=1)[:, ::-1]
    ordered = np.take_along_axis(p_test, order, axis=1)
    last = np.argmax(np.cumsum(ordered, axis=1) - q >= -1e-8, axis=1)
    return p_test - ordered[np.arange(len(p_test)), last][:, None] >= -1e-8


def assay_sets(method: str, p_cal, y_cal, p_test, g_cal=None, g_test=None) -> np.ndarray:
    from assay.uncertainty import ConformalClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ConformalClassifier(method=method, alpha=ALPHA).fit(p_cal, y_cal, sensitive_features=g_cal)
        return model.predict_sets(p_test, sensitive_features=g_test)


def mapie_sets(method: str, p_cal, y_cal, p_test) -> np.ndarray:
    from mapie.classification import SplitConformalClassifier
    from mapie.conformity_scores import APSConformityScore
    from sklearn.base import BaseEstimator, ClassifierMixin

    class PassThrough(ClassifierMixin, BaseEstimator):
        """A fitted classifier whose probabilities are its input."""

        def fit(self, X, y):
            self.classes_ = np.arange(X.shape[1])
            self.n_features_in_ = X.shape[1]
            return self

        def predict_proba(self, X):
            return np.asarray(X)

        def predict(self, X):
            return np.argmax(X, axis=1)

    class DeterministicAPS(APSConformityScore):
        def get_conformity_scores(self, y, y_pred, y_enc=None, **kwargs):
            return self.get_true_label_cumsum_proba(y, y_pred, self.classes)[0]

    estimator = PassThrough().fit(p_cal, y_cal)
    score = "lac" if method == "lac" else DeterministicAPS()
    mapie = SplitConformalClassifier(estimator, confidence_level=1 - ALPHA, conformity_score=score, prefit=True)
    mapie.conformalize(p_cal, y_cal)
    params = None if method == "lac" else {"include_last_label": True}
    return mapie.predict_set(p_test, conformity_score_params=params)[1][:, :, 0]




def bench_conformal(data: dict[str, np.ndarray], repeats: int = 5, mapie: bool = True) -> dict[str, float]:
    """Seconds of each way (median of ``repeats``), after asserting equal sets."""
    p_cal, y_cal, p_test, g_cal, g_test = (data[k] for k in ("p_cal", "y_cal", "p_test", "g_cal", "g_test"))
    out: dict[str, float] = {}
    for method, floor in (("lac", floor_lac), ("aps", floor_aps)):
        ours = assay_sets(method, p_cal, y_cal, p_test)
        np.testing.assert_array_equal(ours, floor(p_cal, y_cal, p_test))
        out[f"{method}_floor"] = median_seconds(lambda f=floor: f(p_cal, y_cal, p_test), repeats)
        out[f"{method}_assay"] = median_seconds(lambda m=method: assay_sets(m, p_cal, y_cal, p_test), repeats)
        if mapie:
            np.testing.assert_array_equal(ours, mapie_sets(method, p_cal, y_cal, p_test))
            out[f"{method}_mapie"] = median_seconds(lambda m=method: mapie_sets(m, p_cal, y_cal, p_test), repeats)
    out["mondrian_assay"] = median_seconds(lambda: assay_sets("lac", p_cal, y_cal, p_test, g_cal, g_test), repeats)
    return out


def print_conformal(times: dict[str, float]) -> None:
    for method in ("lac", "aps"):
        line = f"{method.upper()}: floor {times[f'{method}_floor'] * 1e3:.1f} ms, assay {times[f'{method}_assay'] * 1e3:.1f} ms"
        line += f" ({times[f'{method}_assay'] / times[f'{method}_floor']:.2f}x the floor)"
        if f"{method}_mapie" in times:
            line += f", MAPIE {times[f'{method}_mapie'] * 1e3:.1f} ms"
        print(line)
    print(f"Mondrian LAC, 40 groups: {times['mondrian_assay'] * 1e3:.1f} ms "
          f"({times['mondrian_assay'] / times['lac_assay']:.2f}x the marginal)")
    print("goals: LAC within 1.3x of the floor:", "met" if times["lac_assay"] <= 1.3 * times["lac_floor"] else "NOT met",
          "| Mondrian (40 groups) at most 2x marginal:",
          "met" if times["mondrian_assay"] <= 2 * times["lac_assay"] else "NOT met")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="9,000 + 10,000 rows")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-mapie", action="store_true")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    data = make_conformal_data(90_000 // scale, 100_000 // scale)
    print_machine(machine_info("numpy", "mapie", "scikit-learn"))
    print_conformal(bench_conformal(data, args.repeats, mapie=not args.skip_mapie))
    return 0


if __name__ == "__main__":
    sys.exit(main())
