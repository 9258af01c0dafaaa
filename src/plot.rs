//! PNG plots of samples (feature `plot`, crate [plotters](https://docs.rs/plotters) with its
//! bitmap backend only): trace plots, histograms against an exact density, autocorrelation,
//! 2-D scatter, vector fields (e.g. a learned score next to the exact one) and image grids
//! (e.g. 8×8 digits).
//!
//! No system dependency: text is rendered with the DejaVu Sans Mono font embedded in the
//! crate (Bitstream Vera / DejaVu licence, `assets/fonts/LICENSE_DEJAVU`) through plotters'
//! pure-Rust `ab_glyph` rasteriser, and PNG files are encoded here (zlib by `miniz_oxide`),
//! so neither fontconfig, freetype nor an image library is needed.
//!
//! ```no_run
//! use langevin::plot::{Plot, image_grid};
//! let chains = vec![vec![0.1, 0.4, -0.2, 0.3], vec![1.0, 0.7, 0.9, 0.2]];
//! let p = Plot::new(800, 400).title("x₁ trace");
//! p.trace("trace.png", &chains)?;
//! p.histogram("hist.png", &chains.concat(), 30, Some(&|x: f64| {
//!     (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
//! }))?;
//! p.autocorrelation("acf.png", &chains[0], 3)?;
//! p.scatter("scatter.png", &chains[0], &chains[1])?;
//! image_grid("digits.png", &[vec![0.0; 64], vec![16.0; 64]], 8, 8, 2, 4)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use plotters::prelude::*;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSansMono.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The embedded font is valid; if registration failed anyway, text would be skipped
        // by an error from plotters, which the plot functions report as an io::Error.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(format!("plot: {e}"))
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Size and title shared by the chart functions; each method renders one PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    width: u32,
    height: u32,
    title: String,
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    // Keep the axis (and its padding) finite for values near ±f64::MAX.
    const LIM: f64 = f64::MAX / 4.0;
    let (lo, hi) = (lo.clamp(-LIM, LIM), hi.clamp(-LIM, LIM));
    let scale = lo.abs().max(hi.abs()).max(1.0);
    if hi - lo < 1e-12 * scale {
        // Constant data: a window of relative width 1 (±0.5 would vanish for |x| ≳ 1e16).
        return (lo - 0.5 * scale, hi + 0.5 * scale);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

impl Plot {
    /// A `width × height` pixel canvas (each at least 16) without a title.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width: width.max(16),
            height: height.max(16),
            title: String::new(),
        }
    }
    /// The chart title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    fn render(
        &self,
        draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> io::Result<()>,
    ) -> io::Result<Vec<u8>> {
        let bytes = canvas_bytes(self.width as usize, self.height as usize)?;
        register_font();
        let mut buf = vec![255u8; bytes];
        {
            let root = BitMapBackend::with_buffer_and_format(&mut buf, (self.width, self.height))
                .map_err(err)?
                .into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            draw(&root)?;
            root.present().map_err(err)?;
        }
        Ok(encode_png(self.width, self.height, &buf))
    }

    fn chart<'a, 'b>(
        &self,
        root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
        x: (f64, f64),
        y: (f64, f64),
    ) -> io::Result<
        ChartContext<
            'a,
            BitMapBackend<'b>,
            Cartesian2d<
                plotters::coord::types::RangedCoordf64,
                plotters::coord::types::RangedCoordf64,
            >,
        >,
    > {
        let mut b = ChartBuilder::on(root);
        b.margin(10).x_label_area_size(30).y_label_area_size(50);
        if !self.title.is_empty() {
            b.caption(&self.title, ("sans-serif", 18));
        }
        let mut chart = b.build_cartesian_2d(x.0..x.1, y.0..y.1).map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        Ok(chart)
    }

    /// Trace plot: one line per chain (`chains[c]` is chain c's series), iteration on x.
    ///
    /// # Errors
    /// Drawing or file errors.
    pub fn trace(&self, path: impl AsRef<Path>, chains: &[Vec<f64>]) -> io::Result<()> {
        write_file(path, &self.trace_png(chains)?)
    }

    /// [`Plot::trace`] into PNG bytes.
    ///
    /// # Errors
    /// Drawing errors.
    pub fn trace_png(&self, chains: &[Vec<f64>]) -> io::Result<Vec<u8>> {
        let n = chains.iter().map(Vec::len).max().unwrap_or(1).max(2);
        let y = range(chains.iter().flatten().copied());
        self.render(|root| {
            let mut chart = self.chart(root, (0.0, (n - 1) as f64), y)?;
            for (c, s) in chains.iter().enumerate() {
                let col = COLORS[c % COLORS.len()];
                chart
                    .draw_series(LineSeries::new(
                        s.iter()
                            .enumerate()
                            .filter(|(_, v)| v.is_finite())
                            .map(|(i, &v)| (i as f64, v)),
                        col.mix(0.8),
                    ))
                    .map_err(err)?;
            }
            Ok(())
        })
    }

    /// Histogram of `samples` normalised as a density (area 1), with the exact density
    /// `density` overlaid as a line when given.
    ///
    /// # Errors
    /// Drawing or file errors; `InvalidInput` for `bins = 0`.
    pub fn histogram(
        &self,
        path: impl AsRef<Path>,
        samples: &[f64],
        bins: usize,
        density: Option<&dyn Fn(f64) -> f64>,
    ) -> io::Result<()> {
        write_file(path, &self.histogram_png(samples, bins, density)?)
    }

    /// [`Plot::histogram`] into PNG bytes.
    ///
    /// # Errors
    /// As [`Plot::histogram`].
    pub fn histogram_png(
        &self,
        samples: &[f64],
        bins: usize,
        density: Option<&dyn Fn(f64) -> f64>,
    ) -> io::Result<Vec<u8>> {
        if bins == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bins must be ≥ 1",
            ));
        }
        let (lo, hi) = range(samples.iter().copied());
        let w = (hi - lo) / bins as f64;
        let mut counts = vec![0usize; bins];
        let mut n = 0usize;
        for &s in samples.iter().filter(|s| s.is_finite()) {
            let k = (((s - lo) / w) as usize).min(bins - 1);
            counts[k] += 1;
            n += 1;
        }
        let heights: Vec<f64> = counts
            .iter()
            .map(|&c| c as f64 / (n.max(1) as f64 * w))
            .collect();
        let grid: Vec<(f64, f64)> = match density {
            Some(f) => (0..=400)
                .map(|i| {
                    let x = lo + (hi - lo) * i as f64 / 400.0;
                    (x, f(x))
                })
                .filter(|(_, y)| y.is_finite())
                .collect(),
            None => Vec::new(),
        };
        let top = heights
            .iter()
            .copied()
            .chain(grid.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(1e-12)
            * 1.05;
        self.render(|root| {
            let mut chart = self.chart(root, (lo, hi), (0.0, top))?;
            chart
                .draw_series(heights.iter().enumerate().map(|(k, &h)| {
                    let x0 = lo + k as f64 * w;
                    Rectangle::new([(x0, 0.0), (x0 + w, h)], COLORS[0].mix(0.5).filled())
                }))
                .map_err(err)?;
            if !grid.is_empty() {
                chart
                    .draw_series(LineSeries::new(
                        grid.iter().copied(),
                        COLORS[3].stroke_width(2),
                    ))
                    .map_err(err)?;
            }
            Ok(())
        })
    }

    /// Autocorrelation `ρ_k` of `series` for lags `k = 0 … max_lag`, as vertical bars.
    ///
    /// # Errors
    /// Drawing or file errors.
    pub fn autocorrelation(
        &self,
        path: impl AsRef<Path>,
        series: &[f64],
        max_lag: usize,
    ) -> io::Result<()> {
        write_file(path, &self.autocorrelation_png(series, max_lag)?)
    }

    /// [`Plot::autocorrelation`] into PNG bytes.
    ///
    /// # Errors
    /// Drawing errors.
    pub fn autocorrelation_png(&self, series: &[f64], max_lag: usize) -> io::Result<Vec<u8>> {
        let rho = autocorrelation(series, max_lag);
        let lo = rho.iter().copied().fold(0.0f64, f64::min).min(-0.1);
        self.render(|root| {
            let mut chart = self.chart(root, (-0.5, max_lag as f64 + 0.5), (lo, 1.05))?;
            chart
                .draw_series(rho.iter().enumerate().map(|(k, &r)| {
                    let k = k as f64;
                    Rectangle::new([(k - 0.3, 0.0), (k + 0.3, r)], COLORS[0].filled())
                }))
                .map_err(err)?;
            Ok(())
        })
    }

    /// 2-D scatter of the points `(xs[i], ys[i])`.
    ///
    /// # Errors
    /// Drawing or file errors; `InvalidInput` if the lengths differ.
    pub fn scatter(&self, path: impl AsRef<Path>, xs: &[f64], ys: &[f64]) -> io::Result<()> {
        write_file(path, &self.scatter_png(xs, ys)?)
    }

    /// [`Plot::scatter`] into PNG bytes.
    ///
    /// # Errors
    /// As [`Plot::scatter`].
    pub fn scatter_png(&self, xs: &[f64], ys: &[f64]) -> io::Result<Vec<u8>> {
        if xs.len() != ys.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} x values for {} y values", xs.len(), ys.len()),
            ));
        }
        let xr = range(xs.iter().copied());
        let yr = range(ys.iter().copied());
        self.render(|root| {
            let mut chart = self.chart(root, xr, yr)?;
            chart
                .draw_series(
                    xs.iter()
                        .zip(ys)
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .map(|(&x, &y)| Circle::new((x, y), 2, COLORS[0].mix(0.4).filled())),
                )
                .map_err(err)?;
            Ok(())
        })
    }
}

impl Plot {
    /// Vector field (quiver plot): from each point `(x[i], y[i])` an arrow to
    /// `(x[i] + u[i], y[i] + v[i])` for every field `(u, v)` of `fields`, field k in colour k
    /// (blue, orange, green, …), so that several fields on the same points — a learned score
    /// next to the exact one — compare arrow by arrow. Vectors are drawn as given, in data
    /// units: scale them to the spacing of the points first. Arrows with a non-finite
    /// coordinate are skipped.
    ///
    /// # Errors
    /// Drawing or file errors; `InvalidInput` if a coordinate or field slice has another
    /// length than `x`.
    pub fn vector_field(
        &self,
        path: impl AsRef<Path>,
        x: &[f64],
        y: &[f64],
        fields: &[(&[f64], &[f64])],
    ) -> io::Result<()> {
        write_file(path, &self.vector_field_png(x, y, fields)?)
    }

    /// [`Plot::vector_field`] into PNG bytes.
    ///
    /// # Errors
    /// As [`Plot::vector_field`].
    pub fn vector_field_png(
        &self,
        x: &[f64],
        y: &[f64],
        fields: &[(&[f64], &[f64])],
    ) -> io::Result<Vec<u8>> {
        let n = x.len();
        if y.len() != n || fields.iter().any(|(u, v)| u.len() != n || v.len() != n) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("vector_field: every coordinate and field slice needs {n} values"),
            ));
        }
        // One arrow: shaft plus two head strokes at ±25° of 30 % of its length.
        let arrow = |x0: f64, y0: f64, u: f64, v: f64| -> Option<[(f64, f64); 6]> {
            let ok = [x0, y0, u, v].iter().all(|c| c.is_finite());
            let (x1, y1) = (x0 + u, y0 + v);
            if !(ok && x1.is_finite() && y1.is_finite()) {
                return None;
            }
            let (c, s) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
            let (hu, hv) = (-0.3 * u, -0.3 * v);
            let h1 = (x1 + c * hu - s * hv, y1 + s * hu + c * hv);
            let h2 = (x1 + c * hu + s * hv, y1 - s * hu + c * hv);
            Some([(x0, y0), (x1, y1), (x1, y1), h1, (x1, y1), h2])
        };
        let arrows: Vec<Vec<[(f64, f64); 6]>> = fields
            .iter()
            .map(|(u, v)| {
                (0..n)
                    .filter_map(|i| arrow(x[i], y[i], u[i], v[i]))
                    .collect()
            })
            .collect();
        let xr = range(
            x.iter()
                .copied()
                .chain(arrows.iter().flatten().map(|a| a[1].0)),
        );
        let yr = range(
            y.iter()
                .copied()
                .chain(arrows.iter().flatten().map(|a| a[1].1)),
        );
        self.render(|root| {
            let mut chart = self.chart(root, xr, yr)?;
            for (k, list) in arrows.iter().enumerate() {
                let col = COLORS[k % COLORS.len()].mix(0.85);
                for a in list {
                    for seg in a.chunks_exact(2) {
                        chart
                            .draw_series(LineSeries::new(seg.iter().copied(), col))
                            .map_err(err)?;
                    }
                }
            }
            Ok(())
        })
    }
}

/// The sample autocorrelation `ρ_k = Σ (x_i − x̄)(x_{i+k} − x̄) / Σ (x_i − x̄)²` for
/// `k = 0 … max_lag` (the biased estimator, as in ArviZ's plots). Lags beyond the series are
/// 0; a constant series gives `ρ_0 = 1`, other lags 0.
pub fn autocorrelation(series: &[f64], max_lag: usize) -> Vec<f64> {
    let n = series.len();
    let mean = series.iter().sum::<f64>() / n.max(1) as f64;
    let c0: f64 = series.iter().map(|x| (x - mean) * (x - mean)).sum();
    (0..=max_lag)
        .map(|k| {
            if k == 0 {
                1.0
            } else if k >= n || c0 <= 0.0 {
                0.0
            } else {
                (0..n - k)
                    .map(|i| (series[i] - mean) * (series[i + k] - mean))
                    .sum::<f64>()
                    / c0
            }
        })
        .collect()
}

/// A grid of greyscale images (e.g. 8×8 digits), `cols` per row, each pixel drawn as a
/// `scale × scale` block with a 1-block white gutter; values are mapped linearly from the
/// global `[min, max]` of all images to black…white (higher = darker, like ink).
/// The PNG is `cols·(w+1)·scale` wide and `rows·(h+1)·scale` high, with
/// `rows = ⌈images / cols⌉`.
///
/// # Errors
/// `InvalidInput` for an image of the wrong size, zero sizes or no images; file errors.
pub fn image_grid(
    path: impl AsRef<Path>,
    images: &[Vec<f64>],
    w: usize,
    h: usize,
    cols: usize,
    scale: usize,
) -> io::Result<()> {
    write_file(path, &image_grid_png(images, w, h, cols, scale)?)
}

/// [`image_grid`] into PNG bytes.
///
/// # Errors
/// As [`image_grid`].
pub fn image_grid_png(
    images: &[Vec<f64>],
    w: usize,
    h: usize,
    cols: usize,
    scale: usize,
) -> io::Result<Vec<u8>> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    if images.is_empty() || w == 0 || h == 0 || cols == 0 || scale == 0 {
        return Err(bad("image_grid needs images and non-zero sizes".into()));
    }
    let Some(pixels) = w.checked_mul(h) else {
        return Err(bad(format!("a {w} × {h} image is too large")));
    };
    if let Some(i) = images.iter().position(|im| im.len() != pixels) {
        return Err(bad(format!(
            "image {i} has {} pixels, expected {pixels}",
            images[i].len()
        )));
    }
    let rows = images.len().div_ceil(cols);
    let side = |n: usize, k: usize| (n + 1).checked_mul(scale)?.checked_mul(k);
    let (Some(width), Some(height)) = (side(w, cols), side(h, rows)) else {
        return Err(bad("image_grid: the grid is too large".into()));
    };
    let bytes = canvas_bytes(width, height)?;
    let (cw, ch) = ((w + 1) * scale, (h + 1) * scale);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in images.iter().flatten().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(hi > lo) {
        hi = lo + 1.0; // constant (or empty) images: all white
    }
    let mut buf = vec![255u8; bytes];
    for (k, im) in images.iter().enumerate() {
        let (gx, gy) = ((k % cols) * cw, (k / cols) * ch);
        for r in 0..h {
            for c in 0..w {
                let v = im[r * w + c];
                let t = if v.is_finite() {
                    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let g = (255.0 * (1.0 - t)).round() as u8;
                for dy in 0..scale {
                    let row = gy + r * scale + dy;
                    for dx in 0..scale {
                        let p = (row * width + gx + c * scale + dx) * 3;
                        buf[p..p + 3].copy_from_slice(&[g, g, g]);
                    }
                }
            }
        }
    }
    Ok(encode_png(width as u32, height as u32, &buf))
}

/// A grid of colour images, `cols` per row: each image is `3 · w · h` values, channel-major
/// (the red plane, then green, then blue, each row-major `h × w`), in [0, 1] (clamped; a
/// non-finite value is drawn black), shown as `(255 r, 255 g, 255 b)` on a black cell with a
/// 1-block white gutter, each pixel a `scale × scale` block. Sizes as in [`image_grid`].
///
/// # Errors
/// `InvalidInput` for an image of the wrong size, zero sizes or no images; file errors.
pub fn image_grid_rgb(
    path: impl AsRef<Path>,
    images: &[Vec<f64>],
    w: usize,
    h: usize,
    cols: usize,
    scale: usize,
) -> io::Result<()> {
    write_file(path, &image_grid_rgb_png(images, w, h, cols, scale)?)
}

/// [`image_grid_rgb`] into PNG bytes.
///
/// # Errors
/// As [`image_grid_rgb`].
pub fn image_grid_rgb_png(
    images: &[Vec<f64>],
    w: usize,
    h: usize,
    cols: usize,
    scale: usize,
) -> io::Result<Vec<u8>> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    if images.is_empty() || w == 0 || h == 0 || cols == 0 || scale == 0 {
        return Err(bad("image_grid_rgb needs images and non-zero sizes".into()));
    }
    let Some(pixels) = w.checked_mul(h) else {
        return Err(bad(format!("a {w} × {h} image is too large")));
    };
    if let Some(i) = images.iter().position(|im| im.len() != 3 * pixels) {
        return Err(bad(format!(
            "image {i} has {} values, expected 3 × {pixels} (channel-major RGB)",
            images[i].len()
        )));
    }
    let rows = images.len().div_ceil(cols);
    let side = |n: usize, k: usize| (n + 1).checked_mul(scale)?.checked_mul(k);
    let (Some(width), Some(height)) = (side(w, cols), side(h, rows)) else {
        return Err(bad("image_grid_rgb: the grid is too large".into()));
    };
    let bytes = canvas_bytes(width, height)?;
    let (cw, ch) = ((w + 1) * scale, (h + 1) * scale);
    let mut buf = vec![255u8; bytes];
    let level = |v: f64| {
        if v.is_finite() {
            (255.0 * v.clamp(0.0, 1.0)).round() as u8
        } else {
            0
        }
    };
    for (k, im) in images.iter().enumerate() {
        let (gx, gy) = ((k % cols) * cw, (k / cols) * ch);
        for r in 0..h {
            for c in 0..w {
                let i = r * w + c;
                let rgb = [
                    level(im[i]),
                    level(im[pixels + i]),
                    level(im[2 * pixels + i]),
                ];
                for dy in 0..scale {
                    let row = gy + r * scale + dy;
                    for dx in 0..scale {
                        let p = (row * width + gx + c * scale + dx) * 3;
                        buf[p..p + 3].copy_from_slice(&rgb);
                    }
                }
            }
        }
    }
    Ok(encode_png(width as u32, height as u32, &buf))
}

/// Largest PNG side allowed by the PNG specification, `2³¹ − 1`.
const MAX_SIDE: usize = (1 << 31) - 1;

/// Validates a `width × height` RGB canvas and returns its byte length: each side at most
/// `2³¹ − 1` (PNG) and the buffer addressable, so that huge or overflowing sizes are an
/// `InvalidInput` error instead of a capacity-overflow panic or a silently truncated side.
fn canvas_bytes(width: usize, height: usize) -> io::Result<usize> {
    width
        .checked_mul(height)
        .and_then(|p| p.checked_mul(3))
        .filter(|&b| width <= MAX_SIDE && height <= MAX_SIDE && b <= isize::MAX as usize)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a {width} × {height} pixel image is too large"),
            )
        })
}

fn write_file(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.flush()
}

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[n] = c;
        n += 1;
    }
    t
}
static CRC: [u32; 256] = crc_table();

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for p in parts {
        for &b in *p {
            c = CRC[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
        }
    }
    c ^ 0xFFFF_FFFF
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// Encodes an 8-bit RGB buffer (row-major, 3 bytes per pixel) as PNG: signature, IHDR
/// (colour type 2, bit depth 8), one zlib IDAT with filter type 0 per scanline, IEND.
fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let stride = width as usize * 3;
    let mut raw = Vec::with_capacity((stride + 1) * height as usize);
    for row in rgb.chunks_exact(stride) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    let mut out = Vec::with_capacity(z.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}
