"""Loading what a user points ``assay audit`` at: a model and a data table.

* :func:`load_model` -- a model file or ``module:function``, safe by default: TorchScript,
  ``torch.load(weights_only=True)`` state dicts and safetensors need no trust; pickle/joblib
  files (and ``.pt`` files holding pickled objects) are refused unless
  ``trust_model_file=True`` (``--trust-model-file``, help text :data:`TRUST_MODEL_FILE_HELP`),
  because unpickling runs code stored in the file. Returns a :class:`LoadedModel` whose
  ``.model`` goes to :func:`assay.wrap`.
* :func:`load_table` -- a CSV or Parquet file split into ``(X, y, sensitive_features)``.

Every failure is an :class:`~assay.core.errors.AssayInputError` with a one-line message that
starts with the CLI argument it concerns (``--model``, ``--model-factory``, ``--data``,
``--target``, ``--sensitive``); the CLI prints it and exits with status 2.
"""

from .models import (
    MODEL_KINDS,
    SUPPORTED_MODEL_FORMS,
    TRUST_MODEL_FILE_HELP,
    LoadedModel,
    load_model,
)
from .tables import DEFAULT_TABLE_ARG_NAMES, LoadedTable, load_table, parse_columns, read_table

__all__ = [
    "DEFAULT_TABLE_ARG_NAMES",
    "MODEL_KINDS",
    "SUPPORTED_MODEL_FORMS",
    "TRUST_MODEL_FILE_HELP",
    "LoadedModel",
    "LoadedTable",
    "load_model",
    "load_table",
    "parse_columns",
    "read_table",
]
