//! The vectorised exponential behind mixture responsibilities (`Real::exp_in_place`,
//! `real::exp_in_place_f64`): accuracy against the standard library, special values.
//!
//! Deterministic checks (no randomness beyond a fixed grid): they cannot fail by chance.
//! Bugs caught: a wrong `ln 2` split or rounding constant (errors of thousands of ulp), a
//! truncated polynomial (degree 10 leaves r¹¹/11! ≈ 2·10⁻¹³ at |r| = ln 2 / 2: ~10³ ulp), an off-by-one in the
//! exponent assembly (factor 2 everywhere), overflow of `2ⁿ` near the top of the range (the
//! `n = 1024` case returned +∞ for x ∈ [709.44, 709.78] before the half-scale fix).

// Special values are exact by specification: compared exactly, not within tolerances.
#![allow(clippy::float_cmp)]

use langevin::Real;
use langevin::real::exp_in_place_f64;

fn ulp_distance(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

#[test]
fn within_two_ulp_of_std_on_the_normal_range() {
    // 10⁶ points spread over [−708, 709.78], plus a dense grid over [−2, 2] where the
    // polynomial alone does the work.
    let n = 1_000_000;
    let mut xs: Vec<f64> = (0..n)
        .map(|i| -708.0 + (709.78 + 708.0) * (i as f64 + 0.5) / n as f64)
        .collect();
    xs.extend((0..200_001).map(|i| -2.0 + 4.0 * i as f64 / 200_000.0));
    let mut ys = xs.clone();
    exp_in_place_f64(&mut ys);
    let mut worst = (0, 0.0);
    for (&x, &y) in xs.iter().zip(&ys) {
        let u = ulp_distance(y, x.exp());
        if u > worst.0 {
            worst = (u, x);
        }
    }
    // The standard library's exp is itself within 1 ulp of the true value, so 2 ulp from it
    // means at most 3 ulp from the truth; measured worst: 1 ulp (at x ≈ −708).
    eprintln!("worst: {} ulp at x = {}", worst.0, worst.1);
    assert!(worst.0 <= 2, "worst {} ulp at x = {}", worst.0, worst.1);
}

#[test]
fn special_values_and_range_ends() {
    let mut xs = [
        0.0,
        -0.0,
        1.0,
        f64::NAN,
        f64::NEG_INFINITY,
        f64::INFINITY,
        -708.0,
        -708.5,
        -1e300,
        709.5,
        709.78,
        709.79,
        1e300,
    ];
    exp_in_place_f64(&mut xs);
    assert_eq!(xs[0], 1.0);
    assert_eq!(xs[1], 1.0);
    assert!(ulp_distance(xs[2], core::f64::consts::E) <= 1);
    assert!(xs[3].is_nan(), "NaN must propagate");
    assert_eq!(xs[4], 0.0);
    assert_eq!(xs[5], f64::INFINITY);
    assert!(ulp_distance(xs[6], (-708.0f64).exp()) <= 2);
    // Below −708 the result (< f64::MIN_POSITIVE·1.4) is flushed to zero, as documented.
    assert_eq!(xs[7], 0.0);
    assert_eq!(xs[8], 0.0);
    assert!(xs[9].is_finite() && ulp_distance(xs[9], 709.5f64.exp()) <= 2);
    assert!(xs[10].is_finite() && ulp_distance(xs[10], 709.78f64.exp()) <= 2);
    assert_eq!(xs[11], f64::INFINITY);
    assert_eq!(xs[12], f64::INFINITY);
}

#[test]
fn the_trait_method_dispatches_for_both_scalars() {
    let mut a = [-3.0f64, 0.5];
    f64::exp_in_place(&mut a);
    assert!(ulp_distance(a[0], (-3.0f64).exp()) <= 2 && ulp_distance(a[1], 0.5f64.exp()) <= 2);
    let mut b = [-3.0f32, 0.5];
    f32::exp_in_place(&mut b);
    assert_eq!(b, [(-3.0f32).exp(), 0.5f32.exp()]);
}
