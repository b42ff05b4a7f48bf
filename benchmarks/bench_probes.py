"""Linear probes over MiniLM's 7 layers on 5,000 review sentences, with the forward passes counted (issue 20).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_probes.py              # 5,000 sentences
    PYTHONPATH=src .venv/bin/python benchmarks/bench_probes.py --rows 500   # a quick run

Sentences: ``load_text_domains(n_reviews=--rows)`` (generated product reviews, half positive),
properties: their sentiment and their topic (the product category, 5 values). Activations:
``minilm_layer_embeddings`` (what ``LinearProbe("minilm")`` calls): every layer (``embeddings``,
``encoder.layer.0`` ... ``encoder.layer.5``) mean-pooled from one forward pass per batch of
``--batch-size`` (``output_hidden_states=True``). Probes: ``LinearProbe(None)`` on them, two
logistic regressions per layer (the property and the control task), 70/30 split, seed 0, twice
(same table expected). Forward hooks count the calls of the whole model and of each transformer
block, and the sentences that went through: one pass means ``calls == batches`` for the model and
for every block, and ``sentences == rows``. Times: the model load, the pass, the sentiment probes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import machine_info, print_machine  # noqa: E402

from assay.datasets import load_text_domains, minilm_layer_embeddings  # noqa: E402
from assay.datasets.text import _load_minilm  # noqa: E402
from assay.explain import LinearProbe  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    print_machine(machine_info("torch", "transformers", "scikit-learn"))
    data = load_text_domains(n_reviews=args.rows, n_ood=1, random_state=0)
    start = time.perf_counter()
    model = _load_minilm()[1]
    load_seconds = time.perf_counter() - start
    counts = {"model": [], **{f"encoder.layer.{i}": [] for i in range(6)}}
    hooks = [model.register_forward_hook(lambda m, i, o: counts["model"].append(1))]
    hooks += [module.register_forward_hook(lambda m, i, o, name=name: counts[name].append(len(i[0])))
              for name, module in model.named_modules() if name in counts]
    sentences = []
    hooks.append(model.embeddings.register_forward_hook(lambda m, i, o: sentences.append(o.shape[0])))
    start = time.perf_counter()
    activations = minilm_layer_embeddings(data.reviews, batch_size=args.batch_size, progress=False)
    pass_seconds = time.perf_counter() - start
    for hook in hooks:
        hook.remove()
    batches = -(-len(data.reviews) // args.batch_size)
    start = time.perf_counter()
    table = LinearProbe(None, random_state=0).fit(activations, data.sentiment).result_.to_frame()
    probe_seconds = time.perf_counter() - start
    again = LinearProbe(None, random_state=0).fit(activations, data.sentiment).result_.to_frame()
    topic = LinearProbe(None, random_state=0).fit(activations, data.category).result_.to_frame()
    one_pass = len(counts["model"]) == batches and int(np.sum(sentences)) == len(data.reviews)
    print(f"{len(data.reviews)} sentences, {batches} batches of {args.batch_size}: model calls {len(counts['model'])}, "
          f"calls per block {sorted({len(v) for k, v in counts.items() if k != 'model'})}, sentences through the "
          f"embeddings {int(np.sum(sentences))} (one pass: {one_pass})")
    print(f"load {load_seconds:.1f} s, one pass for 7 layers {pass_seconds:.1f} s, 14 probes {probe_seconds:.1f} s; "
          f"same seed, same table: {again.equals(table)}")
    columns = ["accuracy", "accuracy_lower", "accuracy_upper", "control_accuracy", "selectivity", "majority"]
    for name, frame in (("sentiment", table), ("topic (product category)", topic)):
        print(f"\n{name}:")
        with pd.option_context("display.width", 160):
            print(frame[columns].to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
