#!/usr/bin/env python3
"""Side-by-side training throughput, Rust (`neural` feature) vs JAX, in alternating rounds.

The machine is shared and its load drifts, so absolute examples/s are not comparable between
runs minutes apart. This driver alternates one round of each implementation (R J R J …, each
round a fresh process that warms up before it times), pairs every Rust round with the JAX
round next to it, and reports the per-pair ratio Rust/JAX: median and range over the pairs.
Several Rust builds may be given (`--rust OLD NEW`): each group then runs JAX and every build
once, in an order rotated from group to group, and each build's ratio is to the JAX round of
its own group.

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


def one(cmd, env, cpus=None):
    # With `cpus`, the child is pinned to those cores (sched_setaffinity before exec), so that
    # a "1 thread" comparison is one core for both sides whatever pools they start.
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env,
                         preexec_fn=pin).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 2048])
    ap.add_argument("--examples", type=int, default=1_000_000)
    ap.add_argument("--driver", choices=["loop", "scan"], default="loop")
    ap.add_argument("--threads", type=int, default=0,
                    help="limit both sides to this many threads and pin them to as many cores "
                         "(0: their defaults, all cores, unpinned)")
    ap.add_argument("--forward", action="store_true",
                    help="compare batched score evaluation (forward only) instead of training")
    ap.add_argument("--rust", nargs="+",
                    default=[os.path.join(ROOT, "target/release/examples/neural_throughput")],
                    help="one or more builds of the example (e.g. before and after a change): "
                         "every group of rounds runs each of them and JAX once")
    a = ap.parse_args()
    ex = str(a.examples)
    env = dict(os.environ)
    if a.threads:
        # Rust: the rayon pool; JAX: XLA's CPU intra-op pool and Eigen's thread pool.
        env["RAYON_NUM_THREADS"] = str(a.threads)
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                            + ("false" if a.threads == 1 else "true")
                            + f" intra_op_parallelism_threads={a.threads}").strip()
    cpus = set(sorted(os.sched_getaffinity(0))[:a.threads]) if a.threads else None
    names = ["rust"] if len(a.rust) == 1 else [f"rust{i}" for i in range(len(a.rust))]
    for i, r in enumerate(a.rust):
        if len(a.rust) > 1:
            print(f"rust{i} = {r}")
    for b in a.batch:
        cmds = [("jax", [sys.executable, os.path.join(HERE, "train_mlp.py"), "--batch", str(b),
                         "--rounds", "1", "--examples", ex, "--driver", a.driver, "--json"]
                 + (["--forward"] if a.forward else []))]
        cmds += [(n, [r, "--batch", str(b), "--rounds", "1", "--examples", ex, "--json"]
                  + (["--forward"] if a.forward else []))
                 for n, r in zip(names, a.rust)]
        rates = {n: [] for n, _ in cmds}
        cpu = {n: [] for n, _ in cmds}
        ratio = {n: [] for n in names}
        cpu_ratio = {n: [] for n in names}
        for p in range(a.pairs):
            # Rotate the order every group, so no side always follows the same other's load.
            k = p % len(cmds)
            for name, cmd in cmds[k:] + cmds[:k]:
                got = one(cmd, env, cpus)[0]
                rates[name].append(got["median"])
                cpu[name].append(got.get("cpu_median", float("nan")))
            line = f"batch {b:>5} pair {p}: jax-{a.driver} {rates['jax'][-1]:>9.0f}"
            for n in names:
                ratio[n].append(rates[n][-1] / rates["jax"][-1])
                cpu_ratio[n].append(cpu[n][-1] / cpu["jax"][-1])
                line += (f"  {n} {rates[n][-1]:>9.0f} ratio {ratio[n][-1]:.2f}"
                         f" (per CPU-s {cpu_ratio[n][-1]:.2f})")
            print(line, flush=True)
        jx = rates["jax"]
        for n in names:
            rs = rates[n]
            print(f"batch {b:>5}: {n} median {statistics.median(rs):.0f} ex/s "
                  f"[{min(rs):.0f}, {max(rs):.0f}], jax-{a.driver} median "
                  f"{statistics.median(jx):.0f} [{min(jx):.0f}, {max(jx):.0f}]; ratio {n}/jax "
                  f"median {statistics.median(ratio[n]):.2f} [{min(ratio[n]):.2f}, "
                  f"{max(ratio[n]):.2f}]; per CPU-second ratio median "
                  f"{statistics.median(cpu_ratio[n]):.2f} [{min(cpu_ratio[n]):.2f}, "
                  f"{max(cpu_ratio[n]):.2f}] over {a.pairs} groups"
                  + (f", {a.threads} thread(s) pinned" if a.threads else ""), flush=True)

if __name__ == "__main__":
    main()
