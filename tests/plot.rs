//! Every plot renders to a valid PNG of the requested size. The PNG is parsed here: the
//! signature, every chunk's length and CRC-32, IHDR width/height/colour type, and the
//! decompressed IDAT size; the picture must not be blank. Deterministic.
#![cfg(feature = "plot")]

use langevin::plot::{Plot, autocorrelation, image_grid, image_grid_png, image_grid_rgb};
use std::path::PathBuf;

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    c ^ 0xFFFF_FFFF
}

/// Parses a PNG file; returns (width, height, decoded RGB scanlines without filter bytes).
fn parse_png(path: &PathBuf) -> (u32, u32, Vec<u8>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut i = 8;
    let mut kinds = Vec::new();
    let (mut w, mut h) = (0, 0);
    let mut idat = Vec::new();
    while i < b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as usize;
        let kind = &b[i + 4..i + 8];
        let data = &b[i + 8..i + 8 + len];
        let crc = u32::from_be_bytes(b[i + 8 + len..i + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&b[i + 4..i + 8 + len]), "CRC of {:?}", kind);
        if kind == b"IHDR" {
            assert_eq!(len, 13);
            w = u32::from_be_bytes(data[0..4].try_into().unwrap());
            h = u32::from_be_bytes(data[4..8].try_into().unwrap());
            assert_eq!(&data[8..13], &[8, 2, 0, 0, 0], "8-bit RGB, no interlace");
        }
        if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
        kinds.push(kind.to_vec());
        i += 12 + len;
    }
    assert_eq!(i, b.len());
    assert_eq!(kinds.first().unwrap(), b"IHDR");
    assert_eq!(kinds.last().unwrap(), b"IEND");
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).unwrap();
    let stride = w as usize * 3 + 1;
    assert_eq!(raw.len(), stride * h as usize, "IDAT size");
    let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
    for row in raw.chunks_exact(stride) {
        assert_eq!(row[0], 0, "filter type");
        rgb.extend_from_slice(&row[1..]);
    }
    (w, h, rgb)
}

fn non_white(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| p != &[255, 255, 255])
        .count()
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("langevin_plot_{}_{name}.png", std::process::id()))
}

/// Catches: wrong IHDR size, corrupt chunks (CRC), truncated zlib data, blank renders
/// (e.g. a font failure swallowed, or a series drawn outside the chart).
#[test]
fn every_plot_is_a_valid_png_of_the_right_size() {
    let chains: Vec<Vec<f64>> = (0..3)
        .map(|c| {
            (0..500)
                .map(|i| ((i * (c + 3)) as f64 * 0.01).sin() + c as f64)
                .collect()
        })
        .collect();
    let p = Plot::new(640, 360).title("test plot");
    type Draw<'a> = Box<dyn Fn(&PathBuf) -> std::io::Result<()> + 'a>;
    let cases: Vec<(&str, Draw)> = vec![
        ("trace", Box::new(|f| p.trace(f, &chains))),
        (
            "hist",
            Box::new(|f| {
                p.histogram(
                    f,
                    &chains.concat(),
                    40,
                    Some(&|x: f64| (-x * x / 2.0).exp() * 0.4),
                )
            }),
        ),
        ("acf", Box::new(|f| p.autocorrelation(f, &chains[0], 50))),
        (
            "scatter",
            Box::new(|f| p.scatter(f, &chains[0], &chains[1])),
        ),
        (
            "vector_field",
            Box::new(|f| {
                let (u, v): (Vec<f64>, Vec<f64>) =
                    chains[0].iter().map(|a| (0.1 * a, -0.1 * a)).unzip();
                p.vector_field(f, &chains[0], &chains[1], &[(&u, &v), (&v, &u)])
            }),
        ),
    ];
    for (name, draw) in cases {
        let f = tmp(name);
        draw(&f).unwrap();
        let (w, h, rgb) = parse_png(&f);
        assert_eq!((w, h), (640, 360), "{name}");
        assert!(non_white(&rgb) > 1000, "{name} is blank");
        std::fs::remove_file(&f).unwrap();
    }
}

/// Catches: a grid of the wrong geometry (gutters, rows = ⌈n/cols⌉) or wrong pixel mapping
/// (a zero image must be white, a max image black).
#[test]
fn image_grid_geometry_and_values() {
    let mut imgs: Vec<Vec<f64>> = (0..5)
        .map(|k| (0..64).map(|i| ((i + k) % 17) as f64).collect())
        .collect();
    imgs[0] = vec![0.0; 64];
    imgs[1] = vec![16.0; 64];
    let f = tmp("grid");
    image_grid(&f, &imgs, 8, 8, 3, 4).unwrap();
    let (w, h, rgb) = parse_png(&f);
    assert_eq!((w, h), (3 * 9 * 4, 2 * 9 * 4));
    // centre pixel of image 0 (white) and image 1 (black)
    let px = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..(y * w as usize + x) * 3 + 3];
    assert_eq!(px(16, 16), [255, 255, 255]);
    assert_eq!(px(36 + 16, 16), [0, 0, 0]);
    std::fs::remove_file(&f).unwrap();
    assert!(image_grid(&f, &[vec![0.0; 63]], 8, 8, 1, 1).is_err());
}

/// Catches: colour planes read in the wrong order (a red image drawn blue), values not
/// clamped to [0, 1], a wrong size check for 3-plane images.
#[test]
fn image_grid_rgb_planes_and_clamping() {
    // Image 0: pure red (R plane 1, others 0); image 1: G = 0.5 and B = 2 (clamped to 1).
    let mut red = vec![0.0; 3 * 64];
    red[..64].fill(1.0);
    let mut gb = vec![0.0; 3 * 64];
    gb[64..128].fill(0.5);
    gb[128..].fill(2.0);
    let f = tmp("grid_rgb");
    image_grid_rgb(&f, &[red, gb], 8, 8, 2, 4).unwrap();
    let (w, h, rgb) = parse_png(&f);
    assert_eq!((w, h), (2 * 9 * 4, 9 * 4));
    let px = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..(y * w as usize + x) * 3 + 3];
    assert_eq!(px(16, 16), [255, 0, 0]);
    assert_eq!(px(36 + 16, 16), [0, 128, 255]);
    std::fs::remove_file(&f).unwrap();
    assert!(image_grid_rgb(&f, &[vec![0.0; 64]], 8, 8, 1, 1).is_err());
}

/// Catches: autocorrelation sign or normalisation errors (ρ₀ = 1; an alternating series
/// has ρ₁ = −(n−1)/n exactly).
#[test]
fn autocorrelation_values() {
    let alt: Vec<f64> = (0..100)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let r = autocorrelation(&alt, 2);
    assert!((r[0] - 1.0).abs() < 1e-15);
    assert!((r[1] + 0.99).abs() < 1e-12);
    assert!((r[2] - 0.98).abs() < 1e-12);
}

/// Catches: panics (index out of bounds, float→int overflow, infinite axis ranges handed to
/// the chart code) on degenerate user data: empty, all-NaN, constant, single-point series and
/// values near ±f64::MAX whose range overflows to ∞, and canvas sizes whose byte count
/// overflows. Every call must return (Ok or Err).
/// Deterministic.
#[test]
fn degenerate_inputs_do_not_panic() {
    let p = Plot::new(120, 90).title("degenerate");
    let huge = vec![-1e308, 1e308, 0.0, f64::MAX, -f64::MAX];
    let series: [Vec<f64>; 5] = [
        vec![],
        vec![f64::NAN, f64::INFINITY],
        vec![3.0; 7],
        vec![1.0],
        huge.clone(),
    ];
    for s in &series {
        assert!(p.trace_png(std::slice::from_ref(s)).is_ok());
        assert!(
            p.histogram_png(s, 5, Some(&|x: f64| (-x * x).exp()))
                .is_ok()
        );
        assert!(p.autocorrelation_png(s, 4).is_ok());
        assert!(p.scatter_png(s, s).is_ok());
        assert!(p.vector_field_png(s, s, &[(s, s)]).is_ok());
    }
    assert!(p.trace_png(&[]).is_ok());
    assert!(p.histogram_png(&[1.0], 0, None).is_err());
    assert!(p.scatter_png(&[1.0], &[]).is_err());
    assert!(
        p.vector_field_png(&[1.0], &[1.0], &[(&[1.0], &[])])
            .is_err()
    );
    assert!(image_grid_png(&[vec![f64::NAN; 4], huge[..4].to_vec()], 2, 2, 1, 1).is_ok());
    assert!(image_grid_png(&[vec![0.0; 3]], 2, 2, 1, 1).is_err());
    // Sizes whose buffer overflows usize / exceeds the PNG limit are errors, not panics.
    assert!(Plot::new(u32::MAX, u32::MAX).trace_png(&[]).is_err());
    assert!(image_grid_png(&[vec![0.0; 4]], 2, 2, 1, usize::MAX / 2).is_err());
    assert!(image_grid_png(&[vec![0.0; 4]], usize::MAX, 2, 1, 1).is_err());
}
