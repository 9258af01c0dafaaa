//! The blocked, vectorised evaluations of the mixture and logistic targets against direct
//! textbook formulas (log-sum-exp over components with `f64::exp`/`ln`; `ln_1p` per row).
//!
//! Deterministic (fixed points, no sampling): they cannot fail by chance. Bugs caught: a wrong
//! block rescale when the running maximum moves between blocks of 32 components (70-component
//! case), coordinate-major indexing errors (`means_t[i * K + k]` vs `[k * d + i]`: wrong in
//! d ≥ 2 with K ≠ d), a mode mix-up (stored precisions used for a smoothed evaluation: wrong
//! whenever τ² > 0), a lost `α` in the smoothed means, the product-of-(1 + e) softplus block
//! (missing or double-counted rows at the 64-row block edge: n = 150 spans three blocks).

use langevin::prelude::*;
use langevin::rng::stream;
use langevin::targets::{GaussianMixture, LogisticPosterior};

/// log p and ∇log p of Σ_k w_k N(α μ_k, α² diag(v_k) + τ² I), written out directly.
fn reference(
    w: &[f64],
    means: &[Vec<f64>],
    vars: &[Vec<f64>],
    x: &[f64],
    alpha: f64,
    tau2: f64,
) -> (f64, Vec<f64>) {
    let d = x.len();
    let total: f64 = w.iter().sum();
    let mut l = Vec::new();
    let mut sc = Vec::new();
    for ((wk, mu), v) in w.iter().zip(means).zip(vars) {
        let mut lk = (wk / total).ln();
        let mut sk = vec![0.0; d];
        for i in 0..d {
            let vi = alpha * alpha * v[i] + tau2;
            let y = x[i] - alpha * mu[i];
            lk += -0.5 * (2.0 * std::f64::consts::PI * vi).ln() - 0.5 * y * y / vi;
            sk[i] = -y / vi;
        }
        l.push(lk);
        sc.push(sk);
    }
    let m = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = l.iter().map(|lk| (lk - m).exp()).sum();
    let mut g = vec![0.0; d];
    for (lk, sk) in l.iter().zip(&sc) {
        let r = (lk - m).exp() / s;
        for i in 0..d {
            g[i] += r * sk[i];
        }
    }
    (m + s.ln(), g)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn check(w: Vec<f64>, means: Vec<Vec<f64>>, vars: Vec<Vec<f64>>, label: &str) {
    let gmm = GaussianMixture::with_diagonal(w.clone(), means.clone(), vars.clone()).unwrap();
    let d = means[0].len();
    let mut rng = stream(11, 0);
    let mut out = vec![0.0; d];
    for trial in 0..40 {
        let scale = if trial < 30 { 3.0 } else { 60.0 };
        let x: Vec<f64> = (0..d)
            .map(|_| scale * f64::standard_normal(&mut rng))
            .collect();
        for &(alpha, tau2) in &[(1.0, 0.0), (1.0, 0.7), (0.6, 0.64), (0.05, 0.9975)] {
            let (lp, g) = reference(&w, &means, &vars, &x, alpha, tau2);
            let lp2 = gmm.log_density_and_score_smoothed(&x, alpha, tau2, &mut out);
            assert!(
                close(lp2, lp, 1e-12),
                "{label}: log p {lp2} vs {lp} at α={alpha}, τ²={tau2}"
            );
            assert!(
                close(gmm.log_density_smoothed(&x, alpha, tau2), lp, 1e-12),
                "{label}: log-density-only path"
            );
            for i in 0..d {
                assert!(
                    close(out[i], g[i], 1e-10),
                    "{label}: score[{i}] {} vs {}",
                    out[i],
                    g[i]
                );
            }
            if (alpha, tau2) == (1.0, 0.0) {
                let mut s2 = vec![0.0; d];
                gmm.score_into(&x, &mut s2);
                assert_eq!(s2, out, "{label}: score_into must equal the fused path");
            }
        }
    }
}

#[test]
fn mixture_modes_match_the_direct_formula() {
    // Shared variance (the ring's mode), d = 2.
    let ring: Vec<Vec<f64>> = (0..8)
        .map(|k| {
            let a = k as f64 * std::f64::consts::PI / 4.0;
            vec![4.0 * a.cos(), 4.0 * a.sin()]
        })
        .collect();
    check(vec![1.0; 8], ring.clone(), vec![vec![0.25; 2]; 8], "common");
    // Isotropic with different variances, unequal weights, d = 3, K = 5.
    let mut rng = stream(12, 0);
    let means: Vec<Vec<f64>> = (0..5)
        .map(|_| {
            (0..3)
                .map(|_| 3.0 * f64::standard_normal(&mut rng))
                .collect()
        })
        .collect();
    let vars: Vec<Vec<f64>> = (0..5).map(|k| vec![0.2 + 0.3 * k as f64; 3]).collect();
    check(
        vec![1.0, 2.0, 3.0, 0.5, 4.0],
        means.clone(),
        vars,
        "isotropic",
    );
    // Diagonal (anisotropic) components.
    let vars: Vec<Vec<f64>> = (0..5)
        .map(|k| vec![0.2 + 0.1 * k as f64, 1.0, 0.5])
        .collect();
    check(vec![1.0, 2.0, 3.0, 0.5, 4.0], means, vars, "diagonal");
    // 70 components: three blocks of ≤ 32, the maximum moving between blocks.
    let means: Vec<Vec<f64>> = (0..70)
        .map(|k| vec![(k as f64 - 35.0) * 0.4, ((k * 7) % 11) as f64 - 5.0])
        .collect();
    let w: Vec<f64> = (0..70).map(|k| 1.0 + (k % 5) as f64).collect();
    let vars: Vec<Vec<f64>> = (0..70).map(|k| vec![0.1 + 0.01 * k as f64; 2]).collect();
    check(w, means, vars, "70 components");
}

#[test]
fn mixture_far_away_and_non_finite() {
    let gmm = GaussianMixture::ring(8, 4.0, 0.5).unwrap();
    let mut out = [0.0; 2];
    // Far from every mode: finite, pointing back toward the ring (score ≈ −x/σ² near the
    // nearest mode).
    let lp = gmm.log_density_and_score_smoothed(&[1e3, 0.0], 1.0, 0.0, &mut out);
    assert!(lp.is_finite() && out[0] < 0.0 && out[0].is_finite());
    let lp = gmm.log_density_and_score_smoothed(&[f64::NAN, 0.0], 1.0, 0.0, &mut out);
    assert!(lp.is_nan() && out.iter().all(|v| v.is_nan()));
}

#[test]
fn logistic_blocked_pass_matches_the_direct_formula() {
    let (n, d) = (150, 7);
    let mut rng = stream(13, 0);
    let x: Vec<f64> = (0..n * d).map(|_| f64::standard_normal(&mut rng)).collect();
    let y: Vec<f64> = (0..n).map(|i| ((i * 5) % 3 == 0) as u8 as f64).collect();
    let post = LogisticPosterior::new(x.clone(), y.clone(), 3.0).unwrap();
    let mut g = vec![0.0; d];
    for trial in 0..20 {
        let s = if trial < 15 { 0.5 } else { 20.0 };
        let beta: Vec<f64> = (0..d).map(|_| s * f64::standard_normal(&mut rng)).collect();
        let mut lp = -0.5 * beta.iter().map(|b| b * b).sum::<f64>() / 9.0;
        let mut gr: Vec<f64> = beta.iter().map(|b| -b / 9.0).collect();
        for (row, &yi) in x.chunks_exact(d).zip(&y) {
            let eta: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
            lp += yi * eta - (eta.max(0.0) + (-eta.abs()).exp().ln_1p());
            let sig = 1.0 / (1.0 + (-eta).exp());
            for j in 0..d {
                gr[j] += (yi - sig) * row[j];
            }
        }
        let lp2 = post.log_density_and_score(&beta, &mut g).unwrap();
        assert!(close(lp2, lp, 1e-12), "log p {lp2} vs {lp}");
        assert!(close(post.log_density(&beta), lp, 1e-12));
        for j in 0..d {
            assert!(close(g[j], gr[j], 1e-11), "grad[{j}] {} vs {}", g[j], gr[j]);
        }
    }
}
