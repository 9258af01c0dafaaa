#!/usr/bin/env python3
"""JAX/optax baseline for the training throughput of the `neural` feature (issue 9, item 5).

The network and the training step are the ones the Rust side benchmarks:

    input  (x₁, x₂, log σ)           3
    dense + SiLU                    128
    dense + SiLU                    128
    dense                             2   = σ·s_θ(x, σ)   (the score is this output / σ)

trained by denoising score matching with the weighting λ(σ) = σ² of Song & Ermon (2019), in
the crate's `dsm_loss` convention:

    x̃ = x₀ + σ z,   loss = ½ mean_batch ‖σ s_θ(x̃, σ) + z‖² = ½ mean_batch ‖net(x̃, log σ) + z‖²

with σ drawn per example log-uniformly in [σ_min, σ_max] and the minibatch drawn uniformly with
replacement from a fixed data set (20 000 points of the 8-mode ring, radius 4, std 0.3, weights
∝ 1..8, as `examples/gmm8.rs`). The optimiser is optax AdamW (lr 1e-3, weight decay 1e-4).
Everything — drawing the batch, the noise, forward, backward, the AdamW update — is inside one
`jax.jit`-compiled step, f32, on the CPU.

Throughput (examples/s) is timed after a warm-up (compilation and the first steps excluded),
over several rounds of a fixed number of steps; the script prints the median and the range.
With `--json` it also gives `cpu_median`: examples per CPU-second of the process (all threads),
a measure of the work per example that does not depend on the machine's load.
Two drivers are timed:

* `loop`: the jitted step called from a Python loop (how a JAX training loop is usually
  written; includes the per-call dispatch);
* `scan`: `--chunk` steps fused into one compiled `lax.scan` (no per-step dispatch; the fastest
  form JAX offers).

With `--save PATH` the script instead trains one model (batch `--batch`, `--examples`
examples) and writes it as a safetensors file in the layout `langevin::neural` documents
(`layers.{l}.weight` as `[out, in]`, `layers.{l}.bias`, and the metadata format / model / dim /
widths / activation / embedding / sigmas), which `NcsnMlp::<f32>::load(PATH)` reads: a score
trained in JAX drives the crate's samplers unchanged. Needs `pip install safetensors`.

This script is never run by the tests or CI. Usage:

    pip install jax optax            # CPU wheels
    python benches/jax/train_mlp.py                     # batch 256 and 2048, both drivers
    python benches/jax/train_mlp.py --batch 256 --rounds 1 --driver scan --json
    python benches/jax/train_mlp.py --batch 256 --examples 4000000 --save ring.safetensors
"""

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

HIDDEN = 128
SIGMA_MIN, SIGMA_MAX = 0.01, 8.0


def ring_data(n, seed=0):
    """n points of the 8-mode ring (radius 4, std 0.3, weights ∝ 1..8)."""
    rng = np.random.default_rng(seed)
    w = np.arange(1, 9, dtype=np.float64)
    k = rng.choice(8, size=n, p=w / w.sum())
    ang = 2 * np.pi * k / 8
    mu = 4.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return (mu + 0.3 * rng.standard_normal((n, 2))).astype(np.float32)


def init_params(key):
    """PyTorch-style uniform(±1/√fan_in) initialisation; weights stored (out, in)."""
    sizes = [(3, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 2)]
    params = []
    for fan_in, fan_out in sizes:
        key, kw, kb = jax.random.split(key, 3)
        b = 1.0 / np.sqrt(fan_in)
        params.append(
            (
                jax.random.uniform(kw, (fan_out, fan_in), jnp.float32, -b, b),
                jax.random.uniform(kb, (fan_out,), jnp.float32, -b, b),
            )
        )
    return params


def net(params, x, log_sigma):
    """σ·s_θ(x, σ) for a batch: x (B, 2), log_sigma (B,)."""
    h = jnp.concatenate([x, log_sigma[:, None]], axis=1)
    for w, b in params[:-1]:
        h = jax.nn.silu(h @ w.T + b)
    w, b = params[-1]
    return h @ w.T + b


def make_step(data, batch, opt):
    n = data.shape[0]
    lo, hi = np.log(SIGMA_MIN), np.log(SIGMA_MAX)

    def loss_fn(params, key):
        ki, ks, kz = jax.random.split(key, 3)
        idx = jax.random.randint(ki, (batch,), 0, n)
        x0 = data[idx]
        log_sigma = jax.random.uniform(ks, (batch,), jnp.float32, lo, hi)
        z = jax.random.normal(kz, (batch, 2), jnp.float32)
        xt = x0 + jnp.exp(log_sigma)[:, None] * z
        r = net(params, xt, log_sigma) + z
        return 0.5 * jnp.mean(jnp.sum(r * r, axis=1))

    def step(carry, _):
        params, opt_state, key = carry
        key, sub = jax.random.split(key)
        loss, grads = jax.value_and_grad(loss_fn)(params, sub)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state, key), loss

    return step


def measure(batch, driver, rounds, steps, chunk, warmup, seed=0):
    data = jnp.asarray(ring_data(20_000, seed))
    opt = optax.adamw(1e-3, weight_decay=1e-4)
    params = init_params(jax.random.PRNGKey(seed))
    carry = (params, opt.init(params), jax.random.PRNGKey(seed + 1))
    step = make_step(data, batch, opt)
    if driver == "loop":
        jstep = jax.jit(lambda c: step(c, None))
        calls_per_round, steps_per_call = steps, 1
        advance = jstep
    else:
        chunk = min(chunk, steps)
        jscan = jax.jit(lambda c: jax.lax.scan(step, c, None, length=chunk))
        calls_per_round, steps_per_call = steps // chunk, chunk
        advance = jscan
    # Warm-up: compilation plus `warmup` steps, excluded from the timing.
    for _ in range(max(1, warmup // steps_per_call)):
        carry, loss = advance(carry)
    jax.block_until_ready(carry)
    rates, cpu_rates = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls_per_round):
            carry, loss = advance(carry)
        jax.block_until_ready(carry)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rates.append(batch * calls_per_round * steps_per_call / dt)
        # Per CPU-second of the whole process (every thread): the work per example, which
        # does not depend on how much of the shared machine the process got.
        cpu_rates.append(batch * calls_per_round * steps_per_call / dc)
    final = float(np.asarray(loss).reshape(-1)[-1])
    return rates, cpu_rates, final


def measure_forward(batch, rounds, examples, seed=0):
    """Batched score evaluation, as a sampler calls it: s(x, σ) = net(x, ln σ)/σ for a batch
    of particles at one σ, each call followed by x ← x + 1e-3 s (inside the jitted function),
    so that every call depends on the previous one. Examples/s counts particles scored."""
    data = ring_data(20_000, seed)
    x = jnp.asarray(np.resize(data, (batch, 2)))
    params = init_params(jax.random.PRNGKey(seed))
    sigma = 0.5

    @jax.jit
    def step(params, x):
        s = net(params, x, jnp.full((x.shape[0],), np.log(sigma), jnp.float32)) / sigma
        return x + 1e-3 * s

    for _ in range(50):
        x = step(params, x)
    jax.block_until_ready(x)
    calls = max(1, examples // batch)
    rates, cpu_rates = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            x = step(params, x)
        jax.block_until_ready(x)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rates.append(batch * calls / dt)
        cpu_rates.append(batch * calls / dc)
    return rates, cpu_rates


def save(path, batch, examples, seed=0):
    """Trains one model with the loop driver and writes it in the langevin.neural/1 layout."""
    from safetensors.numpy import save_file

    data = jnp.asarray(ring_data(20_000, seed))
    opt = optax.adamw(1e-3, weight_decay=1e-4)
    params = init_params(jax.random.PRNGKey(seed))
    carry = (params, opt.init(params), jax.random.PRNGKey(seed + 1))
    jstep = jax.jit(lambda c: make_step(data, batch, opt)(c, None))
    for _ in range(max(1, examples // batch)):
        carry, loss = jstep(carry)
    tensors = {}
    for l, (w, b) in enumerate(carry[0]):
        tensors[f"layers.{l}.weight"] = np.asarray(w, dtype=np.float32)  # [out, in]
        tensors[f"layers.{l}.bias"] = np.asarray(b, dtype=np.float32)
    meta = {
        "format": "langevin.neural/1",
        "model": "ncsn",
        "dim": "2",
        "widths": f"3,{HIDDEN},{HIDDEN},2",
        "activation": "silu",
        "embedding": "raw",
        "sigmas": f"{SIGMA_MAX},{SIGMA_MIN}",
    }
    save_file(tensors, path, metadata=meta)
    print(f"wrote {path} (final minibatch loss {float(loss):.3f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 2048])
    ap.add_argument("--driver", choices=["loop", "scan", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--examples", type=int, default=1_000_000,
                    help="examples per timed round (steps = examples / batch)")
    ap.add_argument("--chunk", type=int, default=100, help="steps per lax.scan call")
    ap.add_argument("--warmup", type=int, default=200, help="warm-up steps (not timed)")
    ap.add_argument("--json", action="store_true", help="one JSON line per measurement")
    ap.add_argument("--save", metavar="PATH", help="train once and save the model (safetensors)")
    ap.add_argument("--forward", action="store_true",
                    help="time batched score evaluation (forward only) instead of training")
    a = ap.parse_args()
    if a.forward:
        for b in a.batch:
            rates, cpu_rates = measure_forward(b, a.rounds, a.examples)
            med = statistics.median(rates)
            if a.json:
                print(json.dumps({"impl": "jax-forward", "batch": b, "median": med,
                                  "rates": rates, "cpu_median": statistics.median(cpu_rates)}))
            else:
                print(f"forward {b:>6} {med:>12.0f} {min(rates):>10.0f} {max(rates):>10.0f}")
        return
    if a.save:
        save(a.save, a.batch[0], a.examples)
        return
    drivers = ["loop", "scan"] if a.driver == "both" else [a.driver]
    if not a.json:
        print(f"jax {jax.__version__}, optax {optax.__version__}, devices {jax.devices()}")
        print(f"{'batch':>6} {'driver':>6} {'median ex/s':>12} {'min':>10} {'max':>10}  loss")
    for b in a.batch:
        steps = max(1, a.examples // b)
        for d in drivers:
            rates, cpu_rates, loss = measure(b, d, a.rounds, steps, a.chunk, a.warmup)
            med = statistics.median(rates)
            if a.json:
                print(json.dumps({"impl": f"jax-{d}", "batch": b, "median": med,
                                  "rates": rates, "cpu_median": statistics.median(cpu_rates),
                                  "loss": loss}))
            else:
                print(f"{b:>6} {d:>6} {med:>12.0f} {min(rates):>10.0f} {max(rates):>10.0f}"
                      f"  {loss:.3f}")


if __name__ == "__main__":
    main()
