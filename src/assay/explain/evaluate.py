"""Can an explanation be trusted? Sanity checks and faithfulness of attributions.

* :func:`randomization_test`: the model-parameter randomisation test (Adebayo et al. 2018):
  re-initialise the layers (cascading from the top, or one at a time) and measure the Spearman
  rank correlation of each map with the original one; a method whose maps barely change fails.
* :func:`data_randomization_test`: the same correlation against a model trained on permuted labels.
* :func:`deletion_insertion`: the target probability as the most important features are removed
  from the input (deletion) or added to the baseline (insertion), the areas under both curves
  and AOPC (Petsiuk et al. 2018; Samek et al. 2017).
* :func:`infidelity` and :func:`sensitivity_max` (Yeh et al. 2019), equal to ``captum.metrics``'s
  with the same noise.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, wrap
from ..core.errors import AssayInputError, UndefinedMetricWarning
from ..core.result import Result
from ..core.validation import check_option, check_random_state, check_scalar, describe
from ._base import Attribution, Explainer, resolve_targets
from .shapley import scores

__all__ = ["FaithfulnessCurves", "RandomizationTest", "data_randomization_test", "deletion_insertion", "infidelity",
           "randomization_test", "rank_correlation", "sensitivity_max"]


def rank_correlation(a: np.ndarray, b: np.ndarray, *, absolute: bool = True) -> np.ndarray:
    """Spearman rank correlation of each row's flattened map in ``a`` and ``b`` (average ranks for ties).

    Rows where either map is constant are NaN (with :class:`UndefinedMetricWarning`).
    """
    from scipy.stats import rankdata

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if absolute:
        a, b = np.abs(a), np.abs(b)
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(denom > 0, (ra * rb).sum(1) / np.where(denom > 0, denom, 1), np.nan)
    if np.isnan(rho).any():
        warnings.warn(f"{int(np.isnan(rho).sum())} of {len(rho)} rank correlations are undefined (a constant map); "
                      "they are NaN and left out of means.", UndefinedMetricWarning, stacklevel=2)
    return rho


def _explainer(explainer: Any, owner: str) -> Explainer:
    if not isinstance(explainer, Explainer):
        raise AssayInputError(f"'explainer' of {owner} must be an assay explainer such as Saliency(model). "
                              f"Got {describe(explainer)}.")
    return explainer


def _model_of(explainer: Explainer):
    return _model_of(explainer.explainer) if "explainer" in explainer.get_params(deep=False) else explainer.model


def _with_model(explainer: Explainer, model: Any) -> Explainer:
    est = copy.copy(explainer)
    if "explainer" in explainer.get_params(deep=False):
        return est.set_params(explainer=_with_model(explainer.explainer, model))
    return est.set_params(model=model)


def _torch_module(explainer: Explainer, owner: str):
    import torch

    model = _model_of(explainer)
    module = model.model if isinstance(model, ModelAdapter) else model
    if not isinstance(module, torch.nn.Module):
        raise AssayInputError(f"'explainer' of {owner} must explain a torch model (its weights are re-initialised). "
                              f"Got a {type(module).__name__}.")
    return module


def _layers(module) -> list[str]:
    """Names of the modules that hold parameters of their own, in definition order (input to output)."""
    return [name for name, m in module.named_modules() if name and any(True for _ in m.parameters(recurse=False))]


def _randomize(module, rng: np.random.Generator) -> None:
    """Re-initialise one module's own parameters (``reset_parameters`` where defined), seeded."""
    import torch

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(int(rng.integers(2 ** 31)))
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
        else:
            for p in module.parameters(recurse=False):
                p.normal_(0.0, float(p.std()) if p.numel() > 1 else 1.0)


@dataclasses.dataclass(frozen=True, eq=False)
class RandomizationTest(Result):
    """The model-parameter randomisation test of one explainer.

    ``table``: one row per step (``"original"`` first), columns ``step``, ``layers`` (randomised
    so far, cascading; or the one layer, independent), ``mean``, ``lower``/``upper`` (2.5%/97.5%
    quantiles over the rows), ``rho`` (the per-row correlations, an array). ``final`` is the mean
    correlation with every layer randomised (cascading) or the largest over layers (independent);
    ``passed`` is ``final < threshold``; ``verdict`` says it in words.
    """

    method: str
    mode: str
    table: pd.DataFrame
    final: float
    threshold: float
    passed: bool
    verdict: str


def randomization_test(explainer: Explainer, inputs: Any, target: Any = None, baselines: Any = None, *,
                       mode: str = "cascading", layers: list[str] | None = None, absolute: bool = True,
                       threshold: float = 0.5, random_state: Any = 0) -> RandomizationTest:
    """Model-parameter randomisation test (Adebayo et al. 2018) of a torch explainer.

    The explainer's model is deep-copied and its parameterised layers (``layers``: module names,
    default every module with parameters of its own) re-initialised from the top (``"cascading"``:
    top, then top two, ... down to every layer) or one at a time (``"independent"``), seeded. At
    each step the maps of ``inputs`` for the original targets (``target=None``: the original
    model's predicted classes) are compared with the original maps by Spearman rank correlation
    (of ``|values|`` when ``absolute``). A method passes when the correlation after randomising
    every layer is below ``threshold``: its maps depend on what the model learned.
    """
    explainer = _explainer(explainer, "randomization_test")
    check_option(mode, "mode", owner="randomization_test", options=("cascading", "independent"))
    check_scalar(threshold, "threshold", owner="randomization_test", low=-1, high=1)
    module = _torch_module(explainer, "randomization_test")
    names = _layers(module) if layers is None else list(layers)
    known = dict(module.named_modules())
    unknown = [n for n in names if n not in known or not n]
    if unknown or not names:
        raise AssayInputError(f"'layers' must name modules of the model with parameters, e.g. {_layers(module)[:6]}. "
                              f"Got {layers!r}.")
    original = explainer.attribute(inputs, target, baselines)
    targets = original.target
    rng = check_random_state(random_state, name="random_state")
    rows = [{"step": "original", "layers": "", "rho": np.ones(len(targets))}]
    order = names[::-1]
    work = copy.deepcopy(module)
    for i, name in enumerate(order):
        if mode == "independent":
            work = copy.deepcopy(module)
        _randomize(dict(work.named_modules())[name], rng)
        att = _with_model(explainer, work).attribute(inputs, targets, baselines)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", UndefinedMetricWarning)
            rho = rank_correlation(original.values, att.values, absolute=absolute)
        rows.append({"step": name, "layers": ", ".join(order[:i + 1]) if mode == "cascading" else name, "rho": rho})
    table = pd.DataFrame(rows)
    table["mean"] = [float(np.nanmean(r)) if np.isfinite(r).any() else np.nan for r in table["rho"]]
    table["lower"] = [float(np.nanquantile(r, 0.025)) if np.isfinite(r).any() else np.nan for r in table["rho"]]
    table["upper"] = [float(np.nanquantile(r, 0.975)) if np.isfinite(r).any() else np.nan for r in table["rho"]]
    final = float(table["mean"].iloc[-1] if mode == "cascading" else table["mean"].iloc[1:].max())
    passed = bool(final < threshold)
    after = "after randomising every layer" if mode == "cascading" else "with the least disruptive single layer " \
        "randomised"
    verdict = (f"passes the parameter randomisation test: rank correlation {final:.2f} {after} (below {threshold:g})"
               if passed else f"fails the parameter randomisation test: rank correlation {final:.2f} {after} "
                              f"(at least {threshold:g})")
    return RandomizationTest(original.method, mode, table[["step", "layers", "mean", "lower", "upper", "rho"]],
                             final, float(threshold), passed, verdict)


def data_randomization_test(explainer: Explainer, random_label_model: Any, inputs: Any, target: Any = None,
                            baselines: Any = None, *, absolute: bool = True, threshold: float = 0.5
                            ) -> RandomizationTest:
    """Data randomisation test (Adebayo et al. 2018): maps of the explainer's model vs of ``random_label_model``.

    ``random_label_model``: the same architecture trained on permuted labels (the caller trains
    it). The rank correlation of the maps for the same targets should be low; the method passes
    below ``threshold``. Works for any explainer and model kind.
    """
    explainer = _explainer(explainer, "data_randomization_test")
    check_scalar(threshold, "threshold", owner="data_randomization_test", low=-1, high=1)
    original = explainer.attribute(inputs, target, baselines)
    att = _with_model(explainer, random_label_model).attribute(inputs, original.target, baselines)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", UndefinedMetricWarning)
        rho = rank_correlation(original.values, att.values, absolute=absolute)
    final = float(np.nanmean(rho)) if np.isfinite(rho).any() else np.nan
    passed = bool(final < threshold)
    verdict = f"{'passes' if passed else 'fails'} the data randomisation test: rank correlation {final:.2f} with " \
              f"the maps of a model trained on permuted labels ({'below' if passed else 'at least'} {threshold:g})"
    table = pd.DataFrame({"step": ["original", "random labels"], "layers": ["", "all"], "mean": [1.0, final],
                          "lower": [1.0, float(np.nanquantile(rho, 0.025)) if np.isfinite(rho).any() else np.nan],
                          "upper": [1.0, float(np.nanquantile(rho, 0.975)) if np.isfinite(rho).any() else np.nan],
                          "rho": [np.ones(len(rho)), rho]})
    return RandomizationTest(original.method, "data", table, final, float(threshold), passed, verdict)


# ---------------------------------------------------------------------- faithfulness
def _attribution_values(attribution: Any, inputs_shape: tuple, name: str = "attribution") -> np.ndarray:
    values = attribution.values if isinstance(attribution, Attribution) else np.asarray(
        attribution.detach().cpu() if hasattr(attribution, "detach") else attribution)
    if values.shape != inputs_shape or values.dtype.kind not in "biuf":
        raise AssayInputError(f"'{name}' must be an Attribution or a numeric array of the inputs' shape {inputs_shape}. "
                              f"Got {describe(attribution)}.")
    return values.astype(np.float64)


def _numeric(inputs: Any) -> np.ndarray:
    if isinstance(inputs, pd.DataFrame):
        if not all(pd.api.types.is_numeric_dtype(t) for t in inputs.dtypes):
            raise AssayInputError("'inputs' must be numeric (deletion and insertion move features to the baseline).")
        return inputs.to_numpy(dtype=np.float64)
    arr = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(inputs)
    if arr.dtype.kind not in "biuf" or arr.ndim < 2 or len(arr) == 0:
        raise AssayInputError(f"'inputs' must be a numeric array (n, ...) with at least one row. Got {describe(inputs)}.")
    return arr


def _adapter(model: Any) -> ModelAdapter:
    return model if isinstance(model, ModelAdapter) else wrap(model, cache=False)


def _targets(attribution: Any, target: Any, adapter: ModelAdapter, inputs: Any) -> np.ndarray:
    if target is None and isinstance(attribution, Attribution):
        return attribution.target
    return resolve_targets(target, scores(adapter, inputs, "logits"))


@dataclasses.dataclass(frozen=True, eq=False)
class FaithfulnessCurves(Result):
    """Deletion and insertion curves of ``n`` inputs.

    ``fractions (s+1,)`` of the features moved (most important first); ``deletion``/``insertion``
    ``(n, s+1)`` the target score; ``deletion_auc``/``insertion_auc`` ``(n,)`` trapezoid areas
    over the fractions (deletion: lower is more faithful; insertion: higher); ``aopc (n,)`` the
    mean drop ``f(x) - f(x with the top k removed)`` over the ``s+1`` steps.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: np.ndarray
    insertion_auc: np.ndarray
    aopc: np.ndarray
    output: str


def deletion_insertion(model: Any, inputs: Any, attribution: Any, target: Any = None, baselines: Any = None, *,
                       n_steps: int = 20, output: str = "probabilities",
                       batch_size: int | None = None) -> FaithfulnessCurves:
    """Deletion and insertion curves: move features in the order of ``attribution`` (largest first).

    ``baselines``: the removed value (None: zeros, a number, or one input). Step ``j`` moves the
    ``round(j D / n_steps)`` highest-ranked of the ``D`` features (ties: the earlier feature
    first). ``target=None``: the attribution's targets. Any model; ``batch_size``: model rows per call.
    """
    check_scalar(n_steps, "n_steps", owner="deletion_insertion", kind=numbers.Integral, low=1)
    check_option(output, "output", owner="deletion_insertion", options=("logits", "probabilities"))
    adapter = _adapter(model)
    arr = _numeric(inputs)
    values = _attribution_values(attribution, arr.shape)
    n, shape = len(arr), arr.shape[1:]
    flat, D = arr.reshape(n, -1), int(np.prod(shape))
    if baselines is None or (isinstance(baselines, numbers.Real) and not isinstance(baselines, bool)):
        base = np.full(D, 0.0 if baselines is None else float(baselines))
    else:
        base = np.asarray(baselines.detach().cpu() if hasattr(baselines, "detach") else baselines, dtype=np.float64)
        if base.shape != shape:
            raise AssayInputError(f"'baselines' must be None, a number or one input of shape {shape}. "
                                  f"Got shape {base.shape}.")
        base = base.ravel()
    targets = _targets(attribution, target, adapter, inputs)
    counts = np.rint(np.arange(n_steps + 1) * D / n_steps).astype(int)
    rank = np.empty((n, D), dtype=np.int64)
    rank[np.arange(n)[:, None], np.argsort(-values.reshape(n, -1), axis=1, kind="stable")] = np.arange(D)
    moved = rank[:, None, :] < counts[None, :, None]  # (n, s+1, D)
    size = adapter.batch_size if batch_size is None else int(check_scalar(
        batch_size, "batch_size", owner="deletion_insertion", kind=numbers.Integral, low=1))
    step = max(1, size // (2 * (n_steps + 1)))
    curves = np.empty((2, n, n_steps + 1))
    for a in range(0, n, step):
        m, x = moved[a:a + step], flat[a:a + step][:, None, :]
        both = np.stack([np.where(m, base, x), np.where(m, x, base)])  # deletion, insertion
        X = both.reshape(-1, *shape).astype(arr.dtype, copy=False)
        if isinstance(inputs, pd.DataFrame):
            X = pd.DataFrame(X, columns=inputs.columns)
        s = scores(adapter, X, output)
        t = np.tile(np.repeat(targets[a:a + step], n_steps + 1), 2)
        curves[:, a:a + step] = s[np.arange(len(s)), t].reshape(2, -1, n_steps + 1)
    fractions = counts / D
    deletion, insertion = curves
    return FaithfulnessCurves(fractions, deletion, insertion, np.trapezoid(deletion, fractions, axis=1),
                              np.trapezoid(insertion, fractions, axis=1),
                              (deletion[:, :1] - deletion).mean(1), output)


def _noise_seed(random_state: Any) -> int:
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(check_scalar(random_state, "random_state", owner="infidelity", kind=numbers.Integral, low=0))
    return int(check_random_state(random_state, name="random_state").integers(2 ** 63 - 1))


def infidelity(model: Any, inputs: Any, attribution: Any, target: Any = None, *, n_perturb_samples: int = 10,
               stdevs: float = 0.1, normalize: bool = False, random_state: Any = None) -> np.ndarray:
    """Explanation infidelity (Yeh et al. 2019) per input: ``mean_s (I_s . phi - (F_t(x) - F_t(x - I_s)))^2``.

    ``I_s ~ N(0, stdevs^2)`` (float32, drawn by a torch generator seeded with ``random_state`` for
    the rows in Captum's order: the copies of row ``i`` are ``i*S .. i*S+S-1``); ``F_t`` the
    target logit; ``normalize`` scales ``phi`` by the least-squares ``beta`` first (Captum's
    ``normalize=True``). Equal to ``captum.metrics.infidelity`` given the same perturbations.
    Lower is more faithful. Returns ``(n,)``.
    """
    import torch

    check_scalar(n_perturb_samples, "n_perturb_samples", owner="infidelity", kind=numbers.Integral, low=1)
    check_scalar(stdevs, "stdevs", owner="infidelity", low=0)
    adapter = _adapter(model)
    arr = _numeric(inputs)
    values = _attribution_values(attribution, arr.shape)
    targets = _targets(attribution, target, adapter, inputs)
    n, s = len(arr), int(n_perturb_samples)
    std = torch.tensor(float(stdevs)).repeat((n * s, *arr.shape[1:]))
    noise = torch.normal(0, std, generator=torch.Generator().manual_seed(_noise_seed(random_state))).numpy()
    expanded = np.repeat(arr, s, axis=0)
    perturbed = (expanded - noise).astype(arr.dtype, copy=False)
    X = pd.DataFrame(perturbed, columns=inputs.columns) if isinstance(inputs, pd.DataFrame) else perturbed
    t = np.repeat(targets, s)
    f_pert = scores(adapter, X, "logits")[np.arange(n * s), t]
    f_x = np.repeat(scores(adapter, inputs, "logits")[np.arange(n), targets], s)
    a = (np.repeat(values, s, axis=0) * noise).reshape(n * s, -1).sum(1).reshape(n, s)
    b = (f_x - f_pert).reshape(n, s)
    if normalize:
        aa, ab, bb = (a ** 2).sum(1), (a * b).sum(1), (b ** 2).sum(1)
        beta = np.where(aa != 0, ab / np.where(aa != 0, aa, 1), 0.0)
        return (beta ** 2 * aa - 2 * beta * ab + bb) / s
    return ((a - b) ** 2).sum(1) / s


def sensitivity_max(explainer: Explainer, inputs: Any, target: Any = None, baselines: Any = None, *,
                    n_perturb_samples: int = 10, perturb_radius: float = 0.02, random_state: Any = None
                    ) -> np.ndarray:
    """Max-sensitivity (Yeh et al. 2019) per input: ``max_s ||phi(x + u_s) - phi(x)|| / ||phi(x)||``.

    ``u_s ~ U(-r, r)`` per element (float32, a torch generator seeded with ``random_state``, the
    copies of row ``i`` at ``i*S .. i*S+S-1``: ``captum.metrics.sensitivity_max``'s default
    perturbation and order); Frobenius norms; the perturbed inputs are explained for the clean
    inputs' targets. Lower is more robust. Returns ``(n,)``.
    """
    import torch

    explainer = _explainer(explainer, "sensitivity_max")
    check_scalar(n_perturb_samples, "n_perturb_samples", owner="sensitivity_max", kind=numbers.Integral, low=1)
    check_scalar(perturb_radius, "perturb_radius", owner="sensitivity_max", low=0)
    arr = _numeric(inputs)
    n, s = len(arr), int(n_perturb_samples)
    original = explainer.attribute(inputs, target, baselines)
    u = torch.empty((n * s, *arr.shape[1:]), dtype=torch.float32).uniform_(
        -float(perturb_radius), float(perturb_radius), generator=torch.Generator().manual_seed(_noise_seed(random_state)))
    perturbed = (torch.as_tensor(np.repeat(arr, s, axis=0)) + u).numpy()
    X = pd.DataFrame(perturbed, columns=inputs.columns) if isinstance(inputs, pd.DataFrame) else perturbed
    if baselines is not None and np.shape(baselines) == arr.shape:
        baselines = np.repeat(np.asarray(baselines), s, axis=0)
    att = explainer.attribute(X, np.repeat(original.target, s), baselines)
    ref = original.values.reshape(n, -1)
    diff = att.values.reshape(n * s, -1) - np.repeat(ref, s, axis=0)
    norm = np.linalg.norm(ref, axis=1)
    norm = np.where(norm == 0, 1.0, norm)
    return (np.linalg.norm(diff, axis=1).reshape(n, s) / norm[:, None]).max(1)
