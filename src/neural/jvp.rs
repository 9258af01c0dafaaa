//! Forward-mode Jacobian-vector products of the MLP and of the learned score models, for the
//! probability-flow log-likelihood ([`crate::annealed::FlowLikelihood`]).

use super::mlp::Mlp;
use super::model::{Core, DdpmMlp, NcsnMlp, TimeFromNoise};
use crate::Real;
use crate::annealed::{ForwardSde, NoiseScoreBatch, NoiseScoreJvp, TimeScoreJvp};
use crate::density::Target;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use nalgebra::{DMatrixView, DMatrixViewMut};

/// Rows (primal plus tangent) per forward-mode pass of a score model.
const JVP_ROWS: usize = 512;

impl<T: Real> Mlp<T> {
    /// The length of the buffer [`Mlp::forward_jvp`] needs for `rows` rows (primal plus
    /// tangent) of which `points` are primal.
    pub fn jvp_workspace_len(&self, rows: usize, points: usize) -> usize {
        let wmax = self.widths().iter().copied().max().unwrap_or(0);
        2 * rows * wmax + points * wmax + self.max_weight_len()
    }

    /// The largest weight matrix (room for one transposed copy).
    fn max_weight_len(&self) -> usize {
        self.widths()
            .windows(2)
            .map(|w| w[0] * w[1])
            .max()
            .unwrap_or(0)
    }

    /// The network's outputs and Jacobian-vector products in one forward-mode pass.
    ///
    /// `rows` is row-major `(m + m k) × w_0`: the m inputs `u_i`, then the k tangents `u̇_ij`
    /// of each input (point-major: those of `u_0`, then of `u_1`, …). Returns a view into
    /// `ws` (at least [`Mlp::jvp_workspace_len`]`(m + m k, m)` long) of `(m + m k) × w_L`
    /// values: the m outputs `f(u_i)`, then the products `J_f(u_i) u̇_ij` in the same order.
    /// Each layer propagates the pair (a, ȧ) exactly:
    ///
    /// ```text
    /// z = W h + b,  ż = W ḣ;      h' = silu(z),  ḣ' = silu'(z) ⊙ ż,   silu'(z) = s (1 + z (1 − s))
    /// ```
    ///
    /// with all rows of a layer in one matrix product, so k tangents cost about k + 1
    /// forward passes' worth of arithmetic in one call, and nothing is allocated. Exact up
    /// to rounding: checked against central differences of [`Mlp::forward`] in
    /// `tests/likelihood.rs`. (In `f32` the outputs may differ from [`Mlp::forward`]'s in
    /// the last bits: `forward` uses a vectorised `exp`, this pass the standard one.)
    ///
    /// ```
    /// use langevin::neural::Mlp;
    /// let net = Mlp::<f64>::new(&[2, 8, 1], 3)?;
    /// let mut ws = vec![0.0; net.jvp_workspace_len(2, 1)];
    /// // f(u) and ∂f/∂u₀ at u = (0.3, −0.2).
    /// let out = net.forward_jvp(&[0.3, -0.2, 1.0, 0.0], 1, &mut ws).to_vec();
    /// let mut w2 = vec![0.0; net.workspace_len(1)];
    /// let (h, f) = (1e-6, net.forward(&[0.3, -0.2], &mut w2)[0]);
    /// assert!((out[0] - f).abs() < 1e-12);
    /// let fp = net.forward(&[0.3 + h, -0.2], &mut w2)[0];
    /// assert!((out[1] - (fp - f) / h).abs() < 1e-5);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    ///
    /// # Panics
    /// If `rows.len()` is not `(m + m k) w_0` for some k ≥ 0 and m ≥ 1, or `ws` is too short
    /// (programming errors of the caller; the score models size both themselves).
    pub fn forward_jvp<'w>(&self, rows: &[T], m: usize, ws: &'w mut [T]) -> &'w [T] {
        let w = self.widths();
        let (w0, nl) = (w[0], self.layers());
        let r = rows.len() / w0;
        assert!(
            r * w0 == rows.len() && m > 0 && r >= m && (r - m).is_multiple_of(m),
            "forward_jvp rows"
        );
        let k = (r - m) / m;
        let wmax = w.iter().copied().max().unwrap_or(0);
        let need = self.jvp_workspace_len(r, m);
        assert!(ws.len() >= need, "forward_jvp workspace too short");
        let (a, rest) = ws[..need].split_at_mut(r * wmax);
        let (b, rest) = rest.split_at_mut(r * wmax);
        let (dsig, wt) = rest.split_at_mut(m * wmax);
        a[..r * w0].copy_from_slice(rows);
        let (mut cur, mut nxt) = (a, b);
        for l in 0..nl {
            let (wi, wo) = (w[l], w[l + 1]);
            {
                // nxtᵀ (wo × r) = W (wo × wi) · curᵀ (wi × r): the row-major buffers seen
                // column-major, W transposed into a contiguous column-major copy.
                let wt = &mut wt[..wo * wi];
                for (o, row) in self.weight(l).chunks_exact(wi).enumerate() {
                    for (i, &v) in row.iter().enumerate() {
                        wt[i * wo + o] = v;
                    }
                }
                let wv = DMatrixView::from_slice(wt, wo, wi);
                let hv = DMatrixView::from_slice(&cur[..r * wi], wi, r);
                let mut zv = DMatrixViewMut::from_slice(&mut nxt[..r * wo], wo, r);
                zv.gemm(T::one(), &wv, &hv, T::zero());
            }
            let bias = self.bias(l);
            for row in nxt[..m * wo].chunks_exact_mut(wo) {
                for (z, &bb) in row.iter_mut().zip(bias) {
                    *z += bb;
                }
            }
            if l + 1 < nl {
                for (row, ds) in nxt[..m * wo]
                    .chunks_exact_mut(wo)
                    .zip(dsig.chunks_exact_mut(wo))
                {
                    for (z, g) in row.iter_mut().zip(ds.iter_mut()) {
                        let s = T::one() / (T::one() + (-*z).exp());
                        *g = s * (T::one() + *z * (T::one() - s));
                        *z *= s;
                    }
                }
                if k > 0 {
                    let tang = &mut nxt[m * wo..r * wo];
                    for (i, block) in tang.chunks_exact_mut(k * wo).enumerate() {
                        let ds = &dsig[i * wo..(i + 1) * wo];
                        for row in block.chunks_exact_mut(wo) {
                            for (z, &g) in row.iter_mut().zip(ds) {
                                *z *= g;
                            }
                        }
                    }
                }
            }
            core::mem::swap(&mut cur, &mut nxt);
        }
        // After an odd number of layers the output is in the second buffer.
        let off = if nl % 2 == 1 { r * wmax } else { 0 };
        &ws[off..off + r * w[nl]]
    }
}

impl<T: Real> Core<T> {
    /// `out_i = scale · f([x_i, e(c)])` and `jout_ij = scale · J_f [v_ij, 0]` (the
    /// conditioning features carry no tangent), in passes of at most [`JVP_ROWS`] rows;
    /// `work` grows once to the size of one pass.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn eval_jvp_batch(
        &self,
        xs: &[T],
        c: T,
        scale: T,
        vs: &[T],
        out: &mut [T],
        jout: &mut [T],
        work: &mut Vec<T>,
    ) {
        let (d, di) = (self.dim, self.input_dim());
        let m = xs.len() / d;
        if m == 0 {
            return;
        }
        let k = vs.len() / (m * d);
        let per = (JVP_ROWS / (k + 1)).max(1).min(m);
        let rmax = per * (k + 1);
        let need = rmax * di + self.net.jvp_workspace_len(rmax, per);
        if work.len() < need {
            work.resize(need, T::zero());
        }
        for p0 in (0..m).step_by(per) {
            let mp = per.min(m - p0);
            let r = mp * (k + 1);
            let (inp, ws) = work.split_at_mut(r * di);
            for i in 0..mp {
                let p = p0 + i;
                self.write_input(
                    &xs[p * d..(p + 1) * d],
                    c,
                    &[],
                    &mut inp[i * di..(i + 1) * di],
                );
                for j in 0..k {
                    let row = &mut inp[(mp + i * k + j) * di..(mp + i * k + j + 1) * di];
                    let src = (p * k + j) * d;
                    row[..d].copy_from_slice(&vs[src..src + d]);
                    row[d..].iter_mut().for_each(|v| *v = T::zero());
                }
            }
            let f = self.net.forward_jvp(inp, mp, ws);
            for (o, &v) in out[p0 * d..(p0 + mp) * d].iter_mut().zip(&f[..mp * d]) {
                *o = scale * v;
            }
            for (o, &v) in jout[p0 * k * d..(p0 + mp) * k * d]
                .iter_mut()
                .zip(&f[mp * d..])
            {
                *o = scale * v;
            }
        }
    }
}

/// `s(x, σ) = f([x, e(ln σ)])/σ`: `J v = J_f [v, 0] / σ`, by forward mode.
impl<T: Real> NoiseScoreJvp for NcsnMlp<T> {
    fn score_jvp_sigma_batch(
        &self,
        xs: &[T],
        sigma: T,
        vs: &[T],
        scores: &mut [T],
        jvps: &mut [T],
        work: &mut Vec<T>,
    ) {
        let sc = T::one() / sigma;
        self.core
            .eval_jvp_batch(xs, sigma.ln(), sc, vs, scores, jvps, work);
    }
}

/// `s(x, t) = −ε_θ([x, e(t)])/σ_t`: `J v = −J_ε [v, 0] / σ_t`, by forward mode.
impl<T: Real> TimeScoreJvp for DdpmMlp<T> {
    fn score_jvp_batch(
        &self,
        xs: &[T],
        t: T,
        vs: &[T],
        scores: &mut [T],
        jvps: &mut [T],
        work: &mut Vec<T>,
    ) {
        let sc = -T::one() / T::c(self.sde.marginal_std(t.to_f64()));
        self.core.eval_jvp_batch(xs, t, sc, vs, scores, jvps, work);
    }
}

/// `∇log p_t(x) = (1/α_t) s(x/α_t, σ_t/α_t)`, so `J_t v = (1/α_t²) J_σ(x/α_t) v`.
impl<P, S> TimeScoreJvp for TimeFromNoise<P, S>
where
    P: NoiseScoreJvp + NoiseScoreBatch,
    S: ForwardSde<Scalar = P::Scalar>,
{
    fn score_jvp_batch(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        vs: &[P::Scalar],
        scores: &mut [P::Scalar],
        jvps: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        let (a, s) = self.coefs(t);
        #[allow(clippy::float_cmp)]
        if a == 1.0 {
            return self
                .score
                .score_jvp_sigma_batch(xs, s, vs, scores, jvps, work);
        }
        let n = xs.len();
        let ia = P::Scalar::c(1.0 / a);
        let mut inner = self.take_scratch();
        if inner.len() < n {
            inner.resize(n, P::Scalar::zero());
        }
        for (y, &x) in inner.iter_mut().zip(xs) {
            *y = x * ia;
        }
        self.score
            .score_jvp_sigma_batch(&inner[..n], s, vs, scores, jvps, work);
        self.put_scratch(inner);
        scores.iter_mut().for_each(|o| *o *= ia);
        let ia2 = ia * ia;
        jvps.iter_mut().for_each(|o| *o *= ia2);
    }
}

impl<P: Target, S> TimeFromNoise<P, S> {
    fn take_scratch(&self) -> Vec<P::Scalar> {
        self.scratch
            .lock()
            .map(|mut p| p.pop())
            .unwrap_or(None)
            .unwrap_or_default()
    }
    fn put_scratch(&self, v: Vec<P::Scalar>) {
        if let Ok(mut p) = self.scratch.lock() {
            p.push(v);
        }
    }
}
