"""Temperature scaling on N x K probabilities: assay vs netcal vs a bare SciPy L-BFGS floor.

The temperature-scaling part of ``bench_calibration.py`` (issue 13), as functions the merged script
calls; it also runs alone:

    .venv/bin/python benchmarks/_bench_temperature.py --rows 1000000 --classes 10

All three fit the one T > 0 minimising the mean NLL of softmax(log p / T) on the same float64
probabilities; the script asserts they find the same T (assay and the floor to 1e-6, netcal to 1e-4).
For information it also times the textbook NLL (a fresh max, subtraction and temporaries per step).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize

try:
    from _common import machine_info, median_time, print_machine
except ImportError:  # imported as benchmarks._bench_temperature
    from ._common import machine_info, median_time, print_machine


def temperature_data(n: int = 1_000_000, k: int = 10, *, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Over-confident probabilities ``(n, k)`` (softmax of tripled logits) and labels ``(n,)``."""
    rng = np.random.default_rng(random_state)
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] += 1.5
    z *= 3.0
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p, y


def _lbfgs_log_t(nll) -> float:
    result = minimize(nll, np.zeros(1), jac=True, method="L-BFGS-B", bounds=[(-10, 10)],
                      options={"ftol": 1e-13, "gtol": 1e-9})
    return float(np.exp(result.x[0]))


def floor_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The floor: log p once, SciPy's L-BFGS-B on log T with the analytic gradient, each evaluation
    one multiply, one exp and two row sums into a reused buffer (row maxima taken once). No checks."""
    z = np.log(np.clip(proba, np.finfo(np.float64).tiny, None))
    top = z.max(axis=1)
    z -= top[:, None]
    mean_top, mean_true = top.mean(), (z[np.arange(len(y)), y].mean() + top.mean())
    buffer = np.empty_like(z)

    def nll(u):
        beta = np.exp(-u[0])
        np.multiply(z, beta, out=buffer)
        np.exp(buffer, out=buffer)
        total = buffer.sum(axis=1)
        expected = np.mean(np.einsum("ij,ij->i", buffer, z) / total) + mean_top
        return np.mean(np.log(total)) + beta * (mean_top - mean_true), np.array([-beta * (expected - mean_true)])

    return _lbfgs_log_t(nll)


def textbook_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """For information: the textbook NLL (a max, a subtraction and fresh temporaries per evaluation)."""
    z = np.log(np.clip(proba, np.finfo(np.float64).tiny, None))
    mean_true = z[np.arange(len(y)), y].mean()

    def nll(u):
        beta = np.exp(-u[0])
        s = z * beta
        top = s.max(axis=1, keepdims=True)
        e = np.exp(s - top)
        total = e.sum(axis=1)
        loss = np.mean(np.log(total) + top[:, 0]) - beta * mean_true
        grad = -beta * (np.mean(np.einsum("ij,ij->i", e, z) / total) - mean_true)
        return loss, np.array([grad])

    return _lbfgs_log_t(nll)


def assay_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    from assay.uncertainty import TemperatureScaling

    return TemperatureScaling(scores="probabilities").fit(proba, y).temperature_


def netcal_temperature(proba: np.ndarray, y: np.ndarray) -> float | None:
    """netcal's TemperatureScaling (method "mle": SciPy's minimize on torch's NLL); None if absent."""
    try:
        from netcal.scaling import TemperatureScaling
    except ImportError:
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TemperatureScaling().fit(proba, y)
    return 1.0 / float(np.ravel(model.weights)[0])




def bench_temperature(n: int = 1_000_000, k: int = 10, *, repeats: int = 3, netcal: bool = True) -> dict:
    """Time the three fits on the same data; assert the same T. Returns seconds and temperatures."""
    proba, y = temperature_data(n, k)
    out: dict[str, object] = {"rows": n, "classes": k}
    for name, fit in (("floor", floor_temperature), ("assay", assay_temperature), ("textbook", textbook_temperature),
                      *((("netcal", netcal_temperature),) if netcal else ())):
        seconds, t = median_time(lambda fit=fit: fit(proba, y), 1 if name == "netcal" else repeats)
        out[f"{name}_seconds"], out[f"{name}_temperature"] = seconds, t
    assert abs(out["assay_temperature"] / out["floor_temperature"] - 1) < 1e-6, out
    assert abs(out["textbook_temperature"] / out["floor_temperature"] - 1) < 1e-6, out
    if out.get("netcal_temperature") is not None:
        assert abs(out["netcal_temperature"] / out["floor_temperature"] - 1) < 1e-4, out
    out["assay_vs_floor"] = out["assay_seconds"] / out["floor_seconds"]
    if out.get("netcal_seconds"):
        out["netcal_vs_assay"] = out["netcal_seconds"] / out["assay_seconds"]
    return out


def print_temperature(result: dict) -> None:
    print(f"temperature scaling, {result['rows']:,} x {result['classes']} probabilities (float64)")
    for name in ("floor", "assay", "netcal", "textbook"):
        if result.get(f"{name}_seconds") is not None:
            print(f"  {name:8s} {result[f'{name}_seconds']:8.3f} s   T = {result[f'{name}_temperature']:.8f}")
    print(f"  assay / floor: {result['assay_vs_floor']:.2f}x"
          + (f"; netcal / assay: {result['netcal_vs_assay']:.2f}x" if "netcal_vs_assay" in result else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-netcal", action="store_true")
    args = parser.parse_args()
    print_machine(machine_info("numpy", "scipy", "netcal", "torch"))
    print_temperature(bench_temperature(args.rows, args.classes, repeats=args.repeats, netcal=not args.skip_netcal))


if __name__ == "__main__":
    main()
