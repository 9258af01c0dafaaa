#!/usr/bin/env python3
"""Side-by-side training throughput, Rust (`neural` feature) vs JAX, in alternating rounds.

The machine is shared and its load drifts, so absolute examples/s are not comparable between
runs minutes apart. This driver alternates one round of each implementation (R J R J …, each
round a fresh process that warms up before it times), pairs every Rust round with the JAX
round next to it, and reports the per-pair ratio Rust/JAX: median and range over the pairs.

    cargo build --release --features neural --example neural_throughput
    python benches/jax/compare.py [--pairs 6] [--batch 256 2048] [--examples 1000000]

Both sides run the identical network (3 → 128 → 128 → 2, SiLU, f32), loss (DSM, λ = σ²,
σ log-uniform in [0.01, 8]), optimiser (AdamW, lr 1e-3, weight decay 1e-4), data (20 000
points of the weighted 8-mode ring) and batch size; see train_mlp.py and
examples/neural_throughput.rs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def one(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 2048])
    ap.add_argument("--examples", type=int, default=1_000_000)
    ap.add_argument("--driver", choices=["loop", "scan"], default="loop")
    ap.add_argument("--threads", type=int, default=0,
                    help="pin both sides to this many threads (0: their defaults, all cores)")
    ap.add_argument("--rust", default=os.path.join(ROOT, "target/release/examples/neural_throughput"))
    a = ap.parse_args()
    ex = str(a.examples)
    env = dict(os.environ)
    if a.threads:
        # Rust: the rayon pool; JAX: XLA's CPU intra-op pool and Eigen's thread pool.
        env["RAYON_NUM_THREADS"] = str(a.threads)
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                            + ("false" if a.threads == 1 else "true")
                            + f" intra_op_parallelism_threads={a.threads}").strip()
    for b in a.batch:
        rust_cmd = [a.rust, "--batch", str(b), "--rounds", "1", "--examples", ex, "--json"]
        jax_cmd = [sys.executable, os.path.join(HERE, "train_mlp.py"), "--batch", str(b),
                   "--rounds", "1", "--examples", ex, "--driver", a.driver, "--json"]
        rust, jax, ratio = [], [], []
        for p in range(a.pairs):
            # Alternate which side goes first, so neither always follows the other's load.
            order = [("rust", rust_cmd), ("jax", jax_cmd)]
            if p % 2:
                order.reverse()
            got = {}
            for name, cmd in order:
                got[name] = one(cmd, env)[0]["median"]
            rust.append(got["rust"])
            jax.append(got["jax"])
            ratio.append(got["rust"] / got["jax"])
            print(f"batch {b:>5} pair {p}: rust {got['rust']:>9.0f}  jax-{a.driver} "
                  f"{got['jax']:>9.0f}  ratio {ratio[-1]:.2f}", flush=True)
        print(f"batch {b:>5}: rust median {statistics.median(rust):.0f} ex/s "
              f"[{min(rust):.0f}, {max(rust):.0f}], jax-{a.driver} median "
              f"{statistics.median(jax):.0f} [{min(jax):.0f}, {max(jax):.0f}]; ratio rust/jax "
              f"median {statistics.median(ratio):.2f} [{min(ratio):.2f}, {max(ratio):.2f}] "
              f"over {a.pairs} pairs" + (f", {a.threads} thread(s)" if a.threads else ""),
              flush=True)


if __name__ == "__main__":
    main()
