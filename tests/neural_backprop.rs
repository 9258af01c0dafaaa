//! Backpropagation of [`Mlp`] against central finite differences, on both code paths (row
//! loops for thin layers / few rows, matrix products for wide layers and batches > 8).
//!
//! Catches: a wrong SiLU derivative, a transposed or mis-strided weight gradient, a missing
//! bias gradient, gradients from the wrong layer's activations, batch rows mixed up in the
//! matrix-product path. Deterministic (f64, fixed seeds): the central difference with step
//! 1e-5 has truncation error O(h²) ≈ 1e-10 relative, far below the 1e-6 tolerance, while any
//! of the bugs above gives large relative errors (measured: replacing silu'(z) by sigmoid(z)
//! gives 0.06 on the row-loop path and 0.13 on the matrix-product path).
#![cfg(feature = "neural")]

use langevin::neural::Mlp;
use langevin::prelude::RngExt;
use langevin::rng::stream;

/// ℒ(θ) = Σ c ⊙ f(u; θ) for a fixed random c, so ∂ℒ/∂f = c.
fn loss(net: &Mlp<f64>, input: &[f64], c: &[f64]) -> f64 {
    let mut ws = vec![0.0; net.workspace_len(input.len() / net.input_dim())];
    net.forward(input, &mut ws)
        .iter()
        .zip(c)
        .map(|(f, c)| f * c)
        .sum()
}

fn check(widths: &[usize], rows: usize, seed: u64) {
    let mut net = Mlp::<f64>::new(widths, seed).unwrap();
    let mut rng = stream(seed, 99);
    let input: Vec<f64> = (0..rows * widths[0])
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let c: Vec<f64> = (0..rows * widths[widths.len() - 1])
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut ws = vec![0.0; net.workspace_len(rows)];
    let _ = net.forward(&input, &mut ws);
    let mut grad = vec![f64::NAN; net.params().len()];
    net.backward(&input, &mut ws, &c, &mut grad);
    let h = 1e-5;
    let mut worst: f64 = 0.0;
    for k in 0..net.params().len() {
        let p0 = net.params()[k];
        net.params_mut()[k] = p0 + h;
        let lp = loss(&net, &input, &c);
        net.params_mut()[k] = p0 - h;
        let lm = loss(&net, &input, &c);
        net.params_mut()[k] = p0;
        let fd = (lp - lm) / (2.0 * h);
        let err = (grad[k] - fd).abs() / (1.0 + fd.abs());
        worst = worst.max(err);
    }
    assert!(
        worst < 1e-6,
        "widths {widths:?} rows {rows}: worst relative error {worst:e}"
    );
}

#[test]
fn backprop_matches_finite_differences_row_loop_path() {
    // Thin layers (3 → 16 → 12 → 2) and 5 rows: every product is a row loop.
    check(&[3, 16, 12, 2], 5, 1);
}

#[test]
fn backprop_matches_finite_differences_matrix_product_path() {
    // Layers wider than 8 and 20 rows: the hidden products go through nalgebra's gemm.
    check(&[10, 24, 16, 12], 20, 2);
    // The mixed case of the score networks: thin input and output, wide hidden layers.
    check(&[3, 32, 32, 2], 40, 3);
}

#[test]
fn forward_rows_do_not_depend_on_the_batch() {
    // Each output row is a function of its input row only, bit for bit, whether computed
    // alone, in a block of 9 (matrix products) or of 40. Catches rows mixed up by a stride
    // error, and rounding that depends on the batch composition.
    let net = Mlp::<f32>::new(&[3, 32, 32, 2], 5).unwrap();
    let mut rng = stream(5, 1);
    let input: Vec<f32> = (0..40 * 3).map(|_| rng.random_range(-2.0..2.0)).collect();
    let mut ws = vec![0.0; net.workspace_len(40)];
    let all = net.forward(&input, &mut ws).to_vec();
    let mut ws9 = vec![0.0; net.workspace_len(9)];
    let nine = net.forward(&input[3 * 20..3 * 29], &mut ws9).to_vec();
    assert_eq!(&all[2 * 20..2 * 29], nine.as_slice());
}

#[test]
fn f32_forward_matches_f64() {
    // The f32 path computes the sigmoid with its own polynomial exp; the same weights in f64
    // (libm exp) must give the same outputs to f32 accuracy. Catches a wrong coefficient or
    // range reduction in that exp (errors ≫ 1e-4), e.g. for |z| beyond the first ln 2 band.
    let w64 = Mlp::<f64>::new(&[3, 32, 32, 2], 8).unwrap();
    let mut w32 = Mlp::<f32>::zeros(&[3, 32, 32, 2]).unwrap();
    for (a, &b) in w32.params_mut().iter_mut().zip(w64.params()) {
        *a = b as f32;
    }
    let mut rng = stream(8, 1);
    // Inputs up to ±30 so that pre-activations cover the saturated range of the sigmoid.
    let x64: Vec<f64> = (0..50 * 3).map(|_| rng.random_range(-30.0..30.0)).collect();
    let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let mut ws64 = vec![0.0; w64.workspace_len(50)];
    let mut ws32 = vec![0.0; w32.workspace_len(50)];
    let f64s = w64.forward(&x64, &mut ws64);
    let f32s = w32.forward(&x32, &mut ws32);
    for (a, &b) in f32s.iter().zip(f64s) {
        assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
}
