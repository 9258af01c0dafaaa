//! A dense multilayer perceptron with SiLU hidden activations: batched forward and
//! hand-derived backward passes on caller-owned buffers, and the AdamW optimiser.

#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::stream;
use crate::{Error, Real, Result};
use nalgebra::{DMatrixView, DMatrixViewMut};
use rand::RngExt;

/// Layers whose input or output width is at most this, or batches of at most this many
/// rows, are computed by row loops; larger ones by a matrix product (nalgebra's `gemm`, which
/// dispatches `f32`/`f64` products with every dimension above 5 to the `matrixmultiply`
/// kernels).
const SMALL: usize = 8;

/// A dense multilayer perceptron `ℝ^{w_0} → ℝ^{w_L}`:
///
/// ```text
/// h_0 = u,   z_l = W_l h_{l−1} + b_l,   h_l = silu(z_l) = z_l · sigmoid(z_l)  (l < L),   f(u) = z_L
/// ```
///
/// with widths `[w_0, w_1, …, w_L]`. The parameters live in one flat vector, layer by layer,
/// each layer's weight `W_l` (shape `[w_l, w_{l−1}]`, row-major — the layout of PyTorch's
/// `nn.Linear.weight`) followed by its bias `b_l` (`[w_l]`).
///
/// Batches are row-major `rows × w_0` arrays. [`Mlp::forward`] stores the pre-activations and
/// activations of every layer in a caller-owned buffer of [`Mlp::workspace_len`] values, and
/// [`Mlp::backward`] runs backpropagation through that buffer — no allocation in either.
/// Backpropagation (with `δ_L = ∂ℒ/∂f`):
///
/// ```text
/// ∂ℒ/∂W_l = δ_lᵀ h_{l−1},   ∂ℒ/∂b_l = Σ_rows δ_l,   δ_{l−1} = (δ_l W_l) ⊙ silu'(z_{l−1}),
/// silu'(z) = s (1 + z (1 − s)),   s = sigmoid(z)
/// ```
///
/// checked against central finite differences in `tests/neural_backprop.rs`. Each output row
/// depends only on its input row, with the same rounding whatever the number of rows above 8
/// (the matrix-product kernels sum over the inner dimension in one fixed order).
///
/// ```
/// use langevin::neural::Mlp;
/// let net = Mlp::<f64>::new(&[3, 16, 2], 7)?;
/// let mut ws = vec![0.0; net.workspace_len(2)];
/// let out = net.forward(&[0.1, 0.2, 0.3, -1.0, 0.0, 1.0], &mut ws);
/// assert_eq!(out.len(), 4);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp<T> {
    widths: Vec<usize>,
    params: Vec<T>,
    /// Offset of each layer's weight in `params` (its bias follows the weight).
    offsets: Vec<usize>,
}

impl<T: Real> Mlp<T> {
    /// A network with layer widths `[w_0, …, w_L]` (at least two entries), initialised like
    /// PyTorch's `nn.Linear`: every weight and bias of layer l uniform on `±1/sqrt(w_{l−1})`,
    /// drawn from `rng::stream(seed, 0)`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for fewer than two widths; [`Error::ZeroDimension`] for a
    /// zero width.
    pub fn new(widths: &[usize], seed: u64) -> Result<Self> {
        let mut net = Self::zeros(widths)?;
        let mut rng = stream(seed, 0);
        for l in 0..net.layers() {
            let bound = 1.0 / (widths[l] as f64).sqrt();
            let (o, n) = (net.offsets[l], widths[l + 1] * (widths[l] + 1));
            for p in &mut net.params[o..o + n] {
                *p = T::c(rng.random_range(-bound..bound));
            }
        }
        Ok(net)
    }

    /// A network of the given widths with every parameter zero (to be filled by
    /// [`Mlp::params_mut`], e.g. from a file).
    ///
    /// # Errors
    /// As [`Mlp::new`].
    pub fn zeros(widths: &[usize]) -> Result<Self> {
        if widths.len() < 2 {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "an MLP needs at least an input and an output width, got {widths:?}"
                ),
            });
        }
        if widths.contains(&0) {
            return Err(Error::ZeroDimension {
                what: "MLP layer width",
            });
        }
        let mut offsets = Vec::with_capacity(widths.len() - 1);
        let mut n = 0;
        for w in widths.windows(2) {
            offsets.push(n);
            n += w[1] * (w[0] + 1);
        }
        Ok(Self {
            widths: widths.to_vec(),
            params: vec![T::zero(); n],
            offsets,
        })
    }

    /// The widths `[w_0, …, w_L]`.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }
    /// The number of affine layers L.
    pub fn layers(&self) -> usize {
        self.widths.len() - 1
    }
    /// The input width `w_0`.
    pub fn input_dim(&self) -> usize {
        self.widths[0]
    }
    /// The output width `w_L`.
    pub fn output_dim(&self) -> usize {
        self.widths[self.widths.len() - 1]
    }
    /// All parameters, layer by layer (weight `[w_l, w_{l−1}]` row-major, then bias).
    pub fn params(&self) -> &[T] {
        &self.params
    }
    /// All parameters, mutable.
    pub fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }
    /// The weight of layer `l` (0-based), `[w_{l+1}, w_l]` row-major.
    pub fn weight(&self, l: usize) -> &[T] {
        let o = self.offsets[l];
        &self.params[o..o + self.widths[l + 1] * self.widths[l]]
    }
    /// The bias of layer `l` (0-based), length `w_{l+1}`.
    pub fn bias(&self, l: usize) -> &[T] {
        let o = self.offsets[l] + self.widths[l + 1] * self.widths[l];
        &self.params[o..o + self.widths[l + 1]]
    }
    /// The offset of layer `l`'s weight in [`Mlp::params`] (its bias follows it).
    pub fn layer_offset(&self, l: usize) -> usize {
        self.offsets[l]
    }

    /// The length of the buffer [`Mlp::forward`] and [`Mlp::backward`] need for `rows` rows:
    /// `rows · (3 Σ_{hidden} w_l + w_L)` plus room for one transposed thin weight.
    pub fn workspace_len(&self, rows: usize) -> usize {
        self.tmp_offset(rows) + self.tmp_len()
    }

    fn tmp_offset(&self, rows: usize) -> usize {
        let hidden: usize = self.widths[1..self.widths.len() - 1].iter().sum();
        rows * (3 * hidden + self.output_dim())
    }

    /// Room for the transpose of the largest weight with fewer inputs than outputs.
    fn tmp_len(&self) -> usize {
        self.widths
            .windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| w[0] * w[1])
            .max()
            .unwrap_or(0)
    }

    /// Offsets of (z_l, h_l, s_l = sigmoid(z_l)) in the workspace for layer l (the output
    /// layer has only z_L).
    fn act_offsets(&self, rows: usize, l: usize) -> (usize, usize, usize) {
        let before: usize = self.widths[1..=l].iter().sum();
        let z = 3 * rows * before;
        let w = rows * self.widths[l + 1];
        (z, z + w, z + 2 * w)
    }

    /// Runs the network on the row-major `rows × w_0` batch `input` and returns the
    /// `rows × w_L` output, a view into `ws` (at least [`Mlp::workspace_len`]`(rows)` long),
    /// which also keeps every layer's pre-activation and activation for [`Mlp::backward`].
    ///
    /// # Panics
    /// If `input.len()` is not a multiple of `w_0` or `ws` is too short (a programming error
    /// of the caller; the score models of this module size both themselves).
    pub fn forward<'w>(&self, input: &[T], ws: &'w mut [T]) -> &'w [T] {
        // The elementwise passes (bias, SiLU, thin layers) are compiled once more for AVX2 +
        // FMA and chosen at run time when the CPU has them: the same operations in the same
        // order, only the vector width differs, except that the f32 exponential of the SiLU
        // fuses its multiply-adds there (results differ in the last bit between CPUs with
        // and without AVX2 + FMA; on one machine they are fixed).
        pulp::Arch::new().dispatch(Pass::Forward {
            net: self,
            input,
            ws: &mut *ws,
        });
        let rows = input.len() / self.input_dim();
        let (zo, _, _) = self.act_offsets(rows, self.layers() - 1);
        &ws[zo..zo + rows * self.output_dim()]
    }

    #[inline(always)]
    fn forward_impl<const FMA: bool>(&self, input: &[T], ws: &mut [T]) {
        let rows = input.len() / self.input_dim();
        assert_eq!(rows * self.input_dim(), input.len(), "input rows");
        assert!(ws.len() >= self.workspace_len(rows), "workspace too short");
        let nl = self.layers();
        let tmp_off = self.tmp_offset(rows);
        for l in 0..nl {
            let (zo, _, _) = self.act_offsets(rows, l);
            let (wi, wo) = (self.widths[l], self.widths[l + 1]);
            let (prev, rest) = ws.split_at_mut(zo);
            let h_in: &[T] = if l == 0 {
                input
            } else {
                let (_, hp, _) = self.act_offsets(rows, l - 1);
                &prev[hp..hp + rows * wi]
            };
            let (z, tail) = rest.split_at_mut(rows * wo);
            let tmp = &mut tail[tmp_off - zo - rows * wo..];
            let b = self.bias(l);
            let pending = affine_forward(rows, wi, wo, h_in, self.weight(l), b, z, tmp);
            if l + 1 < nl {
                let (h, tail) = tail.split_at_mut(rows * wo);
                silu_forward::<T, FMA>(z, pending.then_some(b), h, &mut tail[..rows * wo]);
            } else if pending {
                for zr in z.chunks_exact_mut(wo) {
                    for (z, &b) in zr.iter_mut().zip(b) {
                        *z += b;
                    }
                }
            }
        }
    }

    /// Backpropagation after [`Mlp::forward`] on the same `input` and `ws`: given
    /// `d_out = ∂ℒ/∂f` (row-major `rows × w_L`), writes `∂ℒ/∂θ` into `grad` (length
    /// [`Mlp::params`]`.len()`, overwritten). Overwrites the activations in `ws`.
    ///
    /// # Panics
    /// On inconsistent lengths (a programming error of the caller).
    pub fn backward(&self, input: &[T], ws: &mut [T], d_out: &[T], grad: &mut [T]) {
        // Runtime dispatch as in `forward`.
        pulp::Arch::new().dispatch(Pass::Backward {
            net: self,
            input,
            ws,
            d_out,
            grad,
        });
    }

    #[inline(always)]
    fn backward_impl(&self, input: &[T], ws: &mut [T], d_out: &[T], grad: &mut [T]) {
        let rows = input.len() / self.input_dim();
        assert_eq!(d_out.len(), rows * self.output_dim(), "d_out rows");
        assert_eq!(grad.len(), self.params.len(), "gradient length");
        let nl = self.layers();
        let tmp_off = self.tmp_offset(rows);
        let (act, tmp) = ws.split_at_mut(tmp_off);
        // δ_L = d_out is copied into z_L's slot so that every δ_l lives where z_l was.
        let (zo, _, _) = self.act_offsets(rows, nl - 1);
        act[zo..zo + d_out.len()].copy_from_slice(d_out);
        for l in (0..nl).rev() {
            let (wi, wo) = (self.widths[l], self.widths[l + 1]);
            let (zo, _, _) = self.act_offsets(rows, l);
            let (prev, rest) = act.split_at_mut(zo);
            let delta = &rest[..rows * wo];
            let go = self.offsets[l];
            let (below, here) = grad.split_at_mut(go);
            let (gw, gb) = here[..wo * (wi + 1)].split_at_mut(wo * wi);
            // ∂ℒ/∂b_l = column sums of δ_l: here for the output layer, for the hidden layers
            // in the pass that forms δ_l (below, one layer up).
            if l + 1 == nl {
                gb.iter_mut().for_each(|g| *g = T::zero());
                for r in delta.chunks_exact(wo) {
                    for (g, &d) in gb.iter_mut().zip(r) {
                        *g += d;
                    }
                }
            }
            if l == 0 {
                weight_grad(rows, wi, wo, input, delta, gw, tmp);
                break;
            }
            let (zp, hp, sp) = self.act_offsets(rows, l - 1);
            let (zprev, rest) = prev[zp..].split_at_mut(hp - zp);
            let (hprev, sprev) = rest.split_at_mut(sp - hp);
            let hprev = &mut hprev[..rows * wi];
            weight_grad(rows, wi, wo, hprev, delta, gw, tmp);
            // δ h_{l−1} = δ_l W_l overwrites h_{l−1}, then δ_{l−1} = that ⊙ silu'(z_{l−1})
            // overwrites z_{l−1}, and its column sums (∂ℒ/∂b_{l−1}, summed row by row as
            // above) accumulate in the same pass.
            input_grad(rows, wi, wo, delta, self.weight(l), hprev);
            let gb_prev = &mut below[self.offsets[l - 1] + wi * self.widths[l - 1]..][..wi];
            gb_prev.iter_mut().for_each(|g| *g = T::zero());
            for ((zr, dhr), sr) in zprev[..rows * wi]
                .chunks_exact_mut(wi)
                .zip(hprev.chunks_exact(wi))
                .zip(sprev[..rows * wi].chunks_exact(wi))
            {
                for (((z, &dh), &s), g) in zr.iter_mut().zip(dhr).zip(sr).zip(gb_prev.iter_mut()) {
                    let d = dh * s * (T::one() + *z * (T::one() - s));
                    *z = d;
                    *g += d;
                }
            }
        }
    }
}

/// A pass to be compiled for the vector width of the running CPU: pulp's runtime dispatch
/// monomorphises `with_simd` inside a function with that width's target features, and the
/// `inline(always)` chain (this call, the closure's body, the kernels below) pulls the loops in
/// there so that they vectorise at that width. (A closure would not do: its body is a
/// separate function that the inliner may keep out of line, compiled without the features.)
enum Pass<'a, T> {
    Forward {
        net: &'a Mlp<T>,
        input: &'a [T],
        ws: &'a mut [T],
    },
    Backward {
        net: &'a Mlp<T>,
        input: &'a [T],
        ws: &'a mut [T],
        d_out: &'a [T],
        grad: &'a mut [T],
    },
}

impl<T: Real> pulp::WithSimd for Pass<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        match self {
            // Every vector instruction set pulp dispatches to (x86-64-v3 and up, NEON) has
            // fused multiply-add.
            Pass::Forward { net, input, ws } if S::IS_SCALAR => {
                net.forward_impl::<false>(input, ws)
            }
            Pass::Forward { net, input, ws } => net.forward_impl::<true>(input, ws),
            Pass::Backward {
                net,
                input,
                ws,
                d_out,
                grad,
            } => net.backward_impl(input, ws, d_out, grad),
        }
    }
}

/// `s = sigmoid(z)`, `h = z s` elementwise (for f32 through [`exp_f32`], which vectorises
/// where the libm call does not), after adding the bias `b` to every row of `z` if it is
/// given — one pass over the layer.
#[inline(always)]
fn silu_forward<T: Real, const FMA: bool>(z: &mut [T], b: Option<&[T]>, h: &mut [T], s: &mut [T]) {
    let silu = |z: T, h: &mut T, s: &mut T| {
        let si = sigmoid::<T, FMA>(z);
        *s = si;
        *h = z * si;
    };
    match b {
        Some(b) => {
            let wo = b.len();
            for ((zr, hr), sr) in z
                .chunks_exact_mut(wo)
                .zip(h.chunks_exact_mut(wo))
                .zip(s.chunks_exact_mut(wo))
            {
                for (((z, h), s), &b) in zr.iter_mut().zip(hr).zip(sr).zip(b) {
                    *z += b;
                    silu(*z, h, s);
                }
            }
        }
        None => {
            for ((h, s), &z) in h.iter_mut().zip(s.iter_mut()).zip(z.iter()) {
                silu(z, h, s);
            }
        }
    }
}

#[inline(always)]
fn sigmoid<T: Real, const FMA: bool>(z: T) -> T {
    use core::any::Any;
    // The type test is resolved at compile time.
    if let Some(&z32) = (&z as &dyn Any).downcast_ref::<f32>() {
        let s = 1.0 / (1.0 + exp_f32::<FMA>(-z32));
        if let Some(&t) = (&s as &dyn Any).downcast_ref::<T>() {
            return t;
        }
    }
    T::one() / (T::one() + (-z).exp())
}

/// `exp(x)` in f32 without branches (Cephes `expf`: range reduction by ln 2 in two parts and
/// a degree-5 polynomial; relative error ≈ 1 ulp on [−87, 88], clamped outside).
///
/// With `FMA` the multiply-adds are fused (one rounding each; only where the CPU has the
/// instruction — the dispatch in [`Mlp::forward`] sets it — since otherwise `mul_add` is a
/// slow library call); the result then differs from the unfused one in the last bit or so.
#[inline(always)]
fn exp_f32<const FMA: bool>(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by the 1.5·2²³ trick (`round` would be a libm call without SSE4.1).
    // The bits of `t` are those of MAGIC plus the integer n (|n| < 2²²), so 2ⁿ is built by
    // integer operations on them; a float-to-int `as` cast (saturating, NaN-checked) would not
    // vectorise.
    const MAGIC: f32 = 12_582_912.0;
    let t = madd::<FMA>(x, core::f32::consts::LOG2_E, MAGIC);
    let n = t - MAGIC;
    let r = madd::<FMA>(-n, -2.121_944_4e-4, madd::<FMA>(-n, 0.693_359_4, x));
    let mut p = 1.987_569_1e-4f32;
    p = madd::<FMA>(p, r, 1.398_2e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 5.000_000_1e-1);
    let e = madd::<FMA>(p, r * r, r) + 1.0;
    e * f32::from_bits(t.to_bits().wrapping_sub(MAGIC.to_bits() - 127) << 23)
}

/// `a b + c`, fused into one rounding if `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `C = α A B + β C` for row-major / strided operands through nalgebra's `gemm` (which hands
/// every `f32`/`f64` product with all dimensions > 5 to `matrixmultiply`). Strides are
/// (row stride, column stride) in elements.
#[allow(clippy::type_complexity)]
fn gemm<T: Real>(
    (m, k, n): (usize, usize, usize),
    a: (&[T], usize, usize),
    b: (&[T], usize, usize),
    beta: T,
    c: (&mut [T], usize, usize),
) {
    let av = DMatrixView::from_slice_with_strides(a.0, m, k, a.1, a.2);
    let bv = DMatrixView::from_slice_with_strides(b.0, k, n, b.1, b.2);
    let mut cv = DMatrixViewMut::from_slice_with_strides_mut(c.0, m, n, c.1, c.2);
    cv.gemm(T::one(), &av, &bv, beta);
}

/// `z = h Wᵀ + b` for `rows` rows, `W` `[wo, wi]` row-major; `tmp` holds `Wᵀ` for a thin
/// input. Returns `true` when it left out the bias (the matrix-product path, so that the
/// caller adds it in its next pass over `z` instead of a pass of its own).
#[inline(always)]
fn affine_forward<T: Real>(
    rows: usize,
    wi: usize,
    wo: usize,
    h: &[T],
    w: &[T],
    b: &[T],
    z: &mut [T],
    tmp: &mut [T],
) -> bool {
    if rows > SMALL && wi > SMALL && wo > SMALL {
        gemm(
            (rows, wi, wo),
            (h, wi, 1),
            (w, 1, wi),
            T::zero(),
            (z, wo, 1),
        );
        return true;
    }
    for zr in z.chunks_exact_mut(wo) {
        zr.copy_from_slice(b);
    }
    if wi >= wo {
        for (zr, hr) in z.chunks_exact_mut(wo).zip(h.chunks_exact(wi)) {
            for (zo, wr) in zr.iter_mut().zip(w.chunks_exact(wi)) {
                *zo += crate::real::dot8(wr, hr);
            }
        }
    } else {
        // Thin input (the first layer): z_r += Σ_i h_ri (Wᵀ)_i, rows of Wᵀ contiguous.
        let wt = &mut tmp[..wi * wo];
        for (o, wr) in w.chunks_exact(wi).enumerate() {
            for (i, &v) in wr.iter().enumerate() {
                wt[i * wo + o] = v;
            }
        }
        for (zr, hr) in z.chunks_exact_mut(wo).zip(h.chunks_exact(wi)) {
            for (&hi, wtr) in hr.iter().zip(wt.chunks_exact(wo)) {
                for (zo, &v) in zr.iter_mut().zip(wtr) {
                    *zo += hi * v;
                }
            }
        }
    }
    false
}

/// `gw = δᵀ h` (`[wo, wi]` row-major), overwritten; `tmp` holds its transpose for a thin
/// input.
#[inline(always)]
fn weight_grad<T: Real>(
    rows: usize,
    wi: usize,
    wo: usize,
    h: &[T],
    delta: &[T],
    gw: &mut [T],
    tmp: &mut [T],
) {
    if rows > SMALL && wi > SMALL && wo > SMALL {
        gemm(
            (wo, rows, wi),
            (delta, 1, wo),
            (h, wi, 1),
            T::zero(),
            (gw, wi, 1),
        );
    } else if wi >= wo {
        gw.iter_mut().for_each(|g| *g = T::zero());
        for (dr, hr) in delta.chunks_exact(wo).zip(h.chunks_exact(wi)) {
            for (gr, &d) in gw.chunks_exact_mut(wi).zip(dr) {
                for (g, &x) in gr.iter_mut().zip(hr) {
                    *g += d * x;
                }
            }
        }
    } else {
        let gt = &mut tmp[..wi * wo];
        gt.iter_mut().for_each(|g| *g = T::zero());
        for (dr, hr) in delta.chunks_exact(wo).zip(h.chunks_exact(wi)) {
            for (&x, gtr) in hr.iter().zip(gt.chunks_exact_mut(wo)) {
                for (g, &d) in gtr.iter_mut().zip(dr) {
                    *g += x * d;
                }
            }
        }
        for (o, gr) in gw.chunks_exact_mut(wi).enumerate() {
            for (i, g) in gr.iter_mut().enumerate() {
                *g = gt[i * wo + o];
            }
        }
    }
}

/// `dh = δ W` (`rows × wi`), overwritten.
#[inline(always)]
fn input_grad<T: Real>(rows: usize, wi: usize, wo: usize, delta: &[T], w: &[T], dh: &mut [T]) {
    if rows > SMALL && wi > SMALL && wo > SMALL {
        gemm(
            (rows, wo, wi),
            (delta, wo, 1),
            (w, wi, 1),
            T::zero(),
            (dh, wi, 1),
        );
    } else {
        for (hr, dr) in dh.chunks_exact_mut(wi).zip(delta.chunks_exact(wo)) {
            hr.iter_mut().for_each(|g| *g = T::zero());
            for (wr, &d) in w.chunks_exact(wi).zip(dr) {
                for (g, &x) in hr.iter_mut().zip(wr) {
                    *g += d * x;
                }
            }
        }
    }
}

/// The AdamW optimiser (Kingma & Ba 2015; decoupled weight decay of Loshchilov & Hutter
/// 2019), in PyTorch's form: with gradient g at step t,
///
/// ```text
/// m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
/// θ ← θ (1 − η λ) − η m̂ / (sqrt(v̂) + ε),   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
/// ```
///
/// ```
/// use langevin::neural::AdamW;
/// let mut opt = AdamW::<f64>::new(1, 0.9, 0.999, 1e-8, 0.0)?;
/// let mut theta = [1.0];
/// opt.step(&mut theta, &[2.0], 0.1);      // the first step moves by ≈ η sign(g)
/// assert!((theta[0] - 0.9).abs() < 1e-6);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * D. P. Kingma, J. Ba (2015), Adam: a method for stochastic optimization, *ICLR*.
/// * I. Loshchilov, F. Hutter (2019), Decoupled weight decay regularization, *ICLR*.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW<T> {
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    m: Vec<T>,
    v: Vec<T>,
    t: u64,
}

impl<T: Real> AdamW<T> {
    /// An optimiser for `n` parameters with moment decays `beta1`, `beta2` (0.9, 0.999),
    /// `eps` (1e-8) and decoupled weight decay λ (`weight_decay`, 0 for plain Adam).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 ≤ β < 1`, `eps > 0` and `weight_decay ≥ 0`
    /// (all finite).
    pub fn new(n: usize, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Result<Self> {
        for (name, b) in [("beta1", beta1), ("beta2", beta2)] {
            if !(b.is_finite() && (0.0..1.0).contains(&b)) {
                return Err(Error::InvalidParameter {
                    name,
                    value: b,
                    expected: "in [0, 1) (Adam's defaults: 0.9 and 0.999)",
                });
            }
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::InvalidParameter {
                name: "eps",
                value: eps,
                expected: "finite and > 0 (e.g. 1e-8)",
            });
        }
        if !(weight_decay.is_finite() && weight_decay >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "weight_decay",
                value: weight_decay,
                expected: "finite and ≥ 0 (0 for plain Adam)",
            });
        }
        Ok(Self {
            beta1,
            beta2,
            eps,
            weight_decay,
            m: vec![T::zero(); n],
            v: vec![T::zero(); n],
            t: 0,
        })
    }

    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One update of `params` with gradient `grads` and learning rate `lr`. Allocates
    /// nothing.
    ///
    /// # Panics
    /// If the lengths differ from the `n` given to [`AdamW::new`].
    pub fn step(&mut self, params: &mut [T], grads: &[T], lr: f64) {
        assert_eq!(params.len(), self.m.len(), "parameter count");
        assert_eq!(grads.len(), self.m.len(), "gradient count");
        self.t += 1;
        let t = self.t.min(i32::MAX as u64) as i32;
        let c1 = 1.0 / (1.0 - self.beta1.powi(t));
        let c2 = 1.0 / (1.0 - self.beta2.powi(t));
        let (b1, b2) = (T::c(self.beta1), T::c(self.beta2));
        let (ob1, ob2) = (T::c(1.0 - self.beta1), T::c(1.0 - self.beta2));
        let step = T::c(lr * c1);
        let c2 = T::c(c2);
        let eps = T::c(self.eps);
        let decay = T::c(1.0 - lr * self.weight_decay);
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = b1 * *m + ob1 * g;
            *v = b2 * *v + ob2 * g * g;
            *p = *p * decay - step * *m / ((*v * c2).sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exp_f32;

    /// `exp_f32` against the f64 exponential on a grid over its whole unclamped range: a wrong
    /// exponent bias in the bit construction of 2ⁿ (a factor 2; measured: the relative error
    /// is infinite at the top of the range) or a wrong polynomial coefficient moves the
    /// relative error far past 4 ulp.
    /// Both forms: unfused, and fused as on CPUs with FMA.
    #[test]
    fn exp_f32_is_within_a_few_ulp() {
        check::<false>();
        check::<true>();
    }

    fn check<const FMA: bool>() {
        let mut worst = 0.0f64;
        for i in 0..=17_500 {
            let x = -87.0 + 0.01 * i as f64;
            let got = exp_f32::<FMA>(x as f32) as f64;
            let want = (x as f32 as f64).exp();
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(
            worst < 4.0 * f32::EPSILON as f64,
            "FMA {FMA}: worst relative error {worst:e}"
        );
        assert_eq!(
            exp_f32::<FMA>(-200.0).to_bits(),
            exp_f32::<FMA>(-87.0).to_bits()
        );
        assert_eq!(
            exp_f32::<FMA>(200.0).to_bits(),
            exp_f32::<FMA>(88.0).to_bits()
        );
    }
}
