"""A Gender Shades table reproduced by hand: 4 intersectional groups, rates as literal fractions.

Each intersection of skin type x gender has 40 rows (20 positives, 20 negatives); the counts
below are chosen so that every rate is a simple fraction, worked out by hand for the
intersections, the margins (sums of two intersections) and overall.
"""

import numpy as np
import pandas as pd
import pytest

from assay.metrics import evaluate_groups

# (skin, gender): (TP, FN, FP, TN)
COUNTS = {
    ("darker", "female"): (12, 8, 3, 17),
    ("darker", "male"): (15, 5, 2, 18),
    ("lighter", "female"): (18, 2, 1, 19),
    ("lighter", "male"): (19, 1, 0, 20),
}
METRICS = ["error_rate", "tpr", "fpr", "ppv"]

# error = (FP + FN) / n, TPR = TP / (TP + FN), FPR = FP / (FP + TN), PPV = TP / (TP + FP), count = n
EXPECTED = {
    ("overall", "all"): (22 / 160, 64 / 80, 6 / 80, 64 / 70, 160),  # TP 64, FN 16, FP 6, TN 74
    ("skin", "darker"): (18 / 80, 27 / 40, 5 / 40, 27 / 32, 80),  # TP 27, FN 13, FP 5, TN 35
    ("skin", "lighter"): (4 / 80, 37 / 40, 1 / 40, 37 / 38, 80),  # TP 37, FN 3, FP 1, TN 39
    ("gender", "female"): (14 / 80, 30 / 40, 4 / 40, 30 / 34, 80),  # TP 30, FN 10, FP 4, TN 36
    ("gender", "male"): (8 / 80, 34 / 40, 2 / 40, 34 / 36, 80),  # TP 34, FN 6, FP 2, TN 38
    ("skin x gender", "darker x female"): (11 / 40, 3 / 5, 3 / 20, 4 / 5, 40),
    ("skin x gender", "darker x male"): (7 / 40, 3 / 4, 1 / 10, 15 / 17, 40),
    ("skin x gender", "lighter x female"): (3 / 40, 9 / 10, 1 / 20, 18 / 19, 40),
    ("skin x gender", "lighter x male"): (1 / 40, 19 / 20, 0 / 20, 19 / 19, 40),
}


def _rows(seed=0):
    y_true, y_pred, skin, gender = [], [], [], []
    for (s, g), (tp, fn, fp, tn) in COUNTS.items():
        for truth, pred, count in ((1, 1, tp), (1, 0, fn), (0, 1, fp), (0, 0, tn)):
            y_true += [truth] * count
            y_pred += [pred] * count
            skin += [s] * count
            gender += [g] * count
    order = np.random.default_rng(seed).permutation(len(y_true))  # row order must not matter
    frame = pd.DataFrame({"y": y_true, "pred": y_pred, "skin": skin, "gender": gender}).iloc[order]
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def table():
    rows = _rows()
    return evaluate_groups(rows["y"], rows["pred"], sensitive_features=rows[["skin", "gender"]],
                           metrics=[*METRICS, "count"], min_group_size=0)


def test_to_frame_is_the_hand_worked_table(table):
    expected = pd.DataFrame(
        np.array(list(EXPECTED.values()), dtype=float).T,
        index=pd.Index([*METRICS, "count"], name="metric"),
        columns=pd.MultiIndex.from_tuples(list(EXPECTED), names=["feature", "group"]),
    )
    # every rate is a quotient of exact integer counts: equal to the last bit
    pd.testing.assert_frame_equal(table.to_frame(), expected, check_exact=True)


def test_difference_ratio_and_worst_group_by_hand(table):
    inter = "skin x gender"
    difference = table.difference().loc[inter]
    assert difference["error_rate"] == pytest.approx(11 / 40 - 1 / 40, abs=1e-15)  # 1/4
    assert difference["tpr"] == pytest.approx(19 / 20 - 3 / 5, abs=1e-15)  # 7/20
    assert difference["fpr"] == pytest.approx(3 / 20, abs=1e-15)
    assert difference["ppv"] == pytest.approx(1 - 4 / 5, abs=1e-15)  # 1/5
    ratio = table.ratio().loc[inter]
    assert ratio["error_rate"] == pytest.approx(1 / 11, abs=1e-15)
    assert ratio["tpr"] == pytest.approx(12 / 19, abs=1e-15)  # (3/5) / (19/20)
    assert ratio["fpr"] == 0.0
    assert ratio["ppv"] == pytest.approx(4 / 5, abs=1e-15)
    # margins: darker vs lighter
    assert table.difference().loc["skin", "error_rate"] == pytest.approx(18 / 80 - 4 / 80, abs=1e-15)  # 7/40
    assert table.ratio().loc["gender", "tpr"] == pytest.approx((30 / 40) / (34 / 40), abs=1e-15)  # 15/17
    # to the overall value: the largest |group - overall|
    assert table.difference("to_overall").loc[inter, "error_rate"] == pytest.approx(11 / 40 - 22 / 160, abs=1e-15)

    worst = table.worst_group()
    for metric in METRICS:  # darker-skinned women are worst on every one of these
        assert worst.loc[(inter, metric), "group"] == "darker x female"
    assert worst.loc[(inter, "error_rate"), "value"] == 11 / 40
    assert worst.loc[("skin", "tpr"), "group"] == "darker" and worst.loc[("skin", "tpr"), "value"] == 27 / 40
    assert worst.loc[("gender", "fpr"), "group"] == "female" and worst.loc[("gender", "fpr"), "value"] == 4 / 40
