"""Small, seeded, fast reference models used by the demo and the tests.

* :func:`make_tabular_preprocessor`, :func:`train_sklearn_model` -- scikit-learn pipelines
  (logistic regression, histogram gradient boosting) for tabular data such as Adult;
  :func:`train_sklearn_regressor` -- the reference regressor (ridge or gradient boosting), e.g.
  for :func:`assay.datasets.load_diabetes_split`.
* :class:`TabularMLP`, :class:`DigitsCNN` -- PyTorch classifiers with named layers
  (``penultimate`` gives the embedding, ``head`` the logits; ``conv2``/``relu2`` the last
  convolution of the CNN, for Grad-CAM).
* :func:`fit_torch_classifier` -- the one training loop for torch classifiers (Adam,
  cross-entropy, seeded, per-epoch history in ``module.training_history_``).
* :func:`train_tabular_mlp`, :func:`train_digits_cnn` -- build with a seed, then train.
"""

from .networks import DigitsCNN, TabularMLP
from .tabular import (
    REGRESSOR_KINDS,
    SKLEARN_KINDS,
    make_tabular_preprocessor,
    train_sklearn_model,
    train_sklearn_regressor,
)
from .training import (
    LossFn,
    TrainingHistory,
    fit_torch_classifier,
    train_digits_cnn,
    train_tabular_mlp,
)

__all__ = [
    "REGRESSOR_KINDS",
    "SKLEARN_KINDS",
    "DigitsCNN",
    "LossFn",
    "TabularMLP",
    "TrainingHistory",
    "fit_torch_classifier",
    "make_tabular_preprocessor",
    "train_digits_cnn",
    "train_sklearn_model",
    "train_sklearn_regressor",
    "train_tabular_mlp",
]
