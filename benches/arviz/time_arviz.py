#!/usr/bin/env python3
"""Times ArviZ's rank-normalised R-hat, bulk / tail ESS and MCSE on 4 x 10 000 draws.

The Rust side is the criterion bench `benches/diagnostics.rs` (group `diagnostics_4x10000`);
run both in the same shell session, alternating, e.g.

    for i in 1 2 3; do
        python3 benches/arviz/time_arviz.py
        cargo bench -p langevin-benches --bench diagnostics -- --noplot
    done

Not needed by any build or test. Needs: pip install arviz==0.23.4 (numpy, scipy).

The draws are four AR(1) chains with phi = 0.5 (the same process as the Rust bench; the
timings depend on the data only through the Geyer truncation lag, which is short for both).
Prints the median over `--repeat` timeit rounds of `--number` calls, in milliseconds per call.
"""
import argparse
import timeit

import numpy as np
import arviz as az
from arviz.stats.diagnostics import _ess_bulk, _ess_tail, _rhat_rank, _mcse_mean, _mcse_sd, _mcse_quantile


def ar1(rng, phi, chains, draws):
    x = np.empty((chains, draws))
    prev = rng.standard_normal(chains) / np.sqrt(1.0 - phi * phi)
    for i in range(draws):
        prev = phi * prev + rng.standard_normal(chains)
        x[:, i] = prev
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--number", type=int, default=5)
    args = ap.parse_args()
    x = ar1(np.random.default_rng(1), 0.5, 4, 10_000)
    # The public functions (`az.ess(x, method="bulk")`, ...) wrap these private ones in
    # xarray bookkeeping (~1 ms); both are timed, the inner ones are the fair comparison.
    cases = {
        "rhat_rank": lambda: _rhat_rank(x),
        "ess_bulk": lambda: _ess_bulk(x),
        "ess_tail": lambda: _ess_tail(x),
        "mcse_mean": lambda: _mcse_mean(x),
        "mcse_sd": lambda: _mcse_sd(x),
        "mcse_q05": lambda: _mcse_quantile(x, 0.05),
        "az.rhat(rank)": lambda: az.rhat(x, method="rank"),
        "az.ess(bulk)": lambda: az.ess(x, method="bulk"),
        "az.ess(tail)": lambda: az.ess(x, method="tail"),
        "az.mcse(mean)": lambda: az.mcse(x, method="mean"),
    }
    print(f"arviz {az.__version__}, numpy {np.__version__}; median of {args.repeat} x {args.number} calls")
    for name, f in cases.items():
        f()
        t = timeit.repeat(f, repeat=args.repeat, number=args.number)
        print(f"{name:>14}: {1e3 * float(np.median(t)) / args.number:8.3f} ms")


if __name__ == "__main__":
    main()
