"""What the adapter's cache costs and saves.

Times, in one run: a torch MLP forward pass over N x D float32 inputs through `assay.wrap`
(first call), the cached second call (which only fingerprints the data), the fingerprint
alone, and a bare `model(x)` loop over the same batches (the reference: no adapter).

    .venv/bin/python benchmarks/bench_adapter.py --rows 200000 --dim 512
"""

import argparse
import time

import numpy as np
import torch

import assay
from assay.core.batching import fingerprint


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=4096)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(args.dim, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).eval()
    X = np.random.default_rng(0).normal(size=(args.rows, args.dim)).astype(np.float32)

    tick = time.perf_counter()
    with torch.no_grad():
        reference = np.concatenate([model(torch.from_numpy(X[i:i + args.batch_size])).numpy()
                                    for i in range(0, len(X), args.batch_size)])
    bare = time.perf_counter() - tick

    adapter = assay.wrap(model, batch_size=args.batch_size, progress=False)
    tick = time.perf_counter()
    first = adapter.logits(X)
    first_call = time.perf_counter() - tick
    tick = time.perf_counter()
    adapter.predict_proba(X)
    cached_call = time.perf_counter() - tick
    tick = time.perf_counter()
    fingerprint(X)
    hash_only = time.perf_counter() - tick

    assert np.array_equal(first, reference)
    mb = X.nbytes / 2**20
    print(f"input: {args.rows:,} x {args.dim} float32 ({mb:.0f} MiB), batch {args.batch_size}")
    print(f"bare model(x) loop        {bare:8.3f} s")
    print(f"assay first call (pass)   {first_call:8.3f} s   ratio to bare {first_call / bare:5.2f}x")
    print(f"assay cached call         {cached_call:8.3f} s   {bare / cached_call:5.1f}x faster than a pass")
    print(f"fingerprint alone         {hash_only:8.3f} s   ({mb / hash_only:.0f} MiB/s)")


if __name__ == "__main__":
    main()
