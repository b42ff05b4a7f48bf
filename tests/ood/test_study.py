"""assay.ood.audit_detectors: the computation behind the audit's OOD check, chosen by what detectors read."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import assay
from assay import AssayInputError
from assay.ood import OODDetector, audit_detectors
from assay.ood.study import AUTO_DETECTORS, DETECTORS


def test_every_detector_declares_what_it_reads():
    import assay.ood as ood

    classes = [getattr(ood, n) for n in ood.__all__ if isinstance(getattr(ood, n), type)
               and issubclass(getattr(ood, n), OODDetector) and n != "OODDetector"]
    assert {cls.reads for cls in classes} == {"probabilities", "logits", "features", "inputs", "gradients"}
    assert set(AUTO_DETECTORS) <= set(DETECTORS)
    assert ood.MaxSoftmax.reads == "probabilities" and ood.Energy.reads == "logits" and ood.KNN.reads == "features"


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X_tr = rng.normal(size=(300, 3))
    y_tr = (X_tr[:, 0] > 0).astype(int)
    X_te = rng.normal(size=(200, 3))
    y_te = (X_te[:, 0] > 0).astype(int)
    X_ood = rng.normal(size=(100, 3)) + 4
    model = assay.wrap(LogisticRegression().fit(X_tr, y_tr))
    splits = {"train": (X_tr, y_tr, None), "test": (X_te, y_te, None), "ood": (X_ood, None, None)}
    return model, splits


def test_detectors_are_chosen_from_what_they_read(problem):
    model, splits = problem
    audit = audit_detectors(model, splits, ood_splits=["ood"], n_boot=0, random_state=1)
    assert audit.skipped == {
        "MaxLogit": "the model returns probabilities, not logits",
        "Energy": "the model returns probabilities, not logits",
        "GEN": "the model returns probabilities, not logits",
        "Mahalanobis": "needs a torch model (embeddings of a layer)",
        "KNN": "needs a torch model (embeddings of a layer)",
    }
    assert list(audit.threshold.index) == ["MaxSoftmax", "Entropy", "IsolationForestDetector", "GaussianMixtureDetector"]
    # the AUROC of MaxSoftmax recomputed from the model's probabilities
    p_in, p_out = model.predict_proba(splits["test"][0]), model.predict_proba(splits["ood"][0])
    scores = np.concatenate([-p_in.max(axis=1), -p_out.max(axis=1)])
    expected = roc_auc_score(np.r_[np.zeros(len(p_in)), np.ones(len(p_out))], scores)
    table = audit.evaluation.table.set_index("detector")
    assert table.loc["MaxSoftmax", "auroc"] == pytest.approx(expected, abs=1e-12)
    assert audit.primary_detector == table["auroc"].idxmax()


def test_bad_arguments_name_the_owner(problem):
    model, splits = problem
    with pytest.raises(AssayInputError, match="'tpr' parameter of audit_detectors"):
        audit_detectors(model, splits, ood_splits=["ood"], tpr=1.5)
    with pytest.raises(AssayInputError, match="'detectors' parameter of OODCheck must be one of"):
        audit_detectors(model, splits, ood_splits=["ood"], detectors=["Nope"], owner="OODCheck")
    with pytest.raises(AssayInputError, match="No OOD detector fits"):
        audit_detectors(model, splits, ood_splits=["ood"], detectors=["Energy"])
