"""Exact stationary MALA acceptance rate on N(0, I_d).

With x ~ N(0, I), xi ~ N(0, I) and the proposal y = (1 - h) x + sqrt(2h) xi, the log
acceptance ratio is a sum over coordinates of the quadratic form [x, xi] Q [x, xi]^T with

    Q = [[h^2/2 - h^3/4, -c s h/4], [-c s h/4, -h^2/2]],   c = 1 - h, s = sqrt(2h)

(derivation in tests/statistical.rs).  Rotating to Q's eigenbasis, L = l1 A + l2 B with A, B
independent chi^2_d and l1 > 0 > l2.  Then

    E[min(1, e^L)] = E_A[ P(l2 B >= -l1 a) + e^{l1 a} E[e^{l2 B}; l2 B < -l1 a] ]

and E[e^{l2 B}; B > b0] = (1 - 2 l2)^{-d/2} P(B' > b0 (1 - 2 l2)), B' ~ chi^2_d.  The outer
expectation is a 1-D quadrature.  Run: python3 tests/reference/mala_acceptance.py
"""
import numpy as np
from scipy import integrate, stats


def acceptance(d, h):
    c, s = 1.0 - h, np.sqrt(2.0 * h)
    q = np.array([[h * h / 2 - h**3 / 4, -c * s * h / 4], [-c * s * h / 4, -h * h / 2]])
    l2, l1 = np.linalg.eigvalsh(q)  # ascending: l2 < 0 < l1
    assert l1 > 0 > l2
    chi = stats.chi2(d)
    k = 1.0 - 2.0 * l2

    def inner(a):
        b0 = -l1 * a / l2  # l2 B < -l1 a  <=>  B > b0
        p_acc = chi.cdf(b0)  # l2 B >= -l1 a <=> B <= b0
        part = np.exp(l1 * a - 0.5 * d * np.log(k)) * chi.sf(b0 * k)
        return (p_acc + part) * chi.pdf(a)

    lo, hi = chi.ppf(1e-15), chi.isf(1e-15)
    val, err = integrate.quad(inner, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=500)
    return val, err


if __name__ == "__main__":
    rows = [(1, 0.25), (1, 0.5), (1, 1.0), (1, 1.5), (10, 0.5), (100, 0.3), (1000, 1.361 * 1000 ** (-1 / 3))]
    for d, h in rows:
        v, e = acceptance(d, h)
        print(f"d={d:5d} h={h:.6f} acceptance={v:.10f} (quadrature error {e:.1e})")
    # Monte Carlo cross-check of the derivation at d = 10, h = 0.5.
    rng = np.random.default_rng(1)
    n, d, h = 200000, 10, 0.5
    x = rng.standard_normal((n, d)); xi = rng.standard_normal((n, d))
    y = (1 - h) * x + np.sqrt(2 * h) * xi
    lr = (x**2 - y**2).sum(1) / 2 + ((y - (1 - h) * x) ** 2 - (x - (1 - h) * y) ** 2).sum(1) / (4 * h)
    a = np.minimum(1, np.exp(lr))
    print(f"MC check d=10 h=0.5: {a.mean():.5f} +- {a.std() / np.sqrt(n):.5f}")
