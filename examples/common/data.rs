//! Data loaders shared by the examples (included with `#[path = "common/data.rs"] mod data;`;
//! each example uses only some of them).
#![allow(dead_code)]

use flate2::read::GzDecoder;
use langevin::targets::LogisticPosterior;
use std::io::{BufRead, BufReader};

/// Pixels of one 8 × 8 digit.
pub const DIGIT_PIXELS: usize = 64;

const BREAST_CANCER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/breast_cancer.csv"
);

/// The 1797 handwritten digits, row-major `n × 64`, pixels scaled to [0, 1].
pub fn digits() -> std::io::Result<Vec<f64>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv.gz");
    let r = BufReader::new(GzDecoder::new(std::fs::File::open(path)?));
    let mut data = Vec::new();
    for line in r.lines() {
        let line = line?;
        let vals: Vec<f64> = line
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        if vals.len() == DIGIT_PIXELS + 1 {
            data.extend(vals[..DIGIT_PIXELS].iter().map(|v| v / 16.0));
        }
    }
    Ok(data)
}

/// The 1797 handwritten digits with their labels: pixels row-major `n × 64` in [0, 1], and
/// the digit (0–9) of each row.
pub fn digits_labelled() -> std::io::Result<(Vec<f64>, Vec<usize>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv.gz");
    let r = BufReader::new(GzDecoder::new(std::fs::File::open(path)?));
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    for line in r.lines() {
        let line = line?;
        let vals: Vec<f64> = line
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        if vals.len() == DIGIT_PIXELS + 1 {
            data.extend(vals[..DIGIT_PIXELS].iter().map(|v| v / 16.0));
            labels.push(vals[DIGIT_PIXELS] as usize);
        }
    }
    Ok((data, labels))
}

/// An 8 × 8 image as eight lines of ASCII shades.
pub fn ascii(x: &[f64]) -> Vec<String> {
    const RAMP: &[u8] = b" .:-=+*#%@";
    x.chunks(8)
        .map(|r| {
            r.iter()
                .map(|&v| {
                    let k = (v.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64).round() as usize;
                    let c = RAMP[k] as char;
                    format!("{c}{c}")
                })
                .collect()
        })
        .collect()
}

/// The breast-cancer logistic-regression posterior (standardised features plus an intercept,
/// prior `N(0, prior_sd²)` on every coefficient), from `breast_cancer.csv`.
pub fn breast_cancer(
    prior_sd: f64,
) -> std::result::Result<LogisticPosterior<f64>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(BREAST_CANCER)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty data file")?.split(',').collect();
    // `rows,features,<class names…>`
    let [n, k, ..] = header[..] else {
        return Err("the header must start with `rows,features`".into());
    };
    let n: usize = n.trim().parse()?;
    let k: usize = k.trim().parse()?;
    let mut feats = Vec::with_capacity(n * k);
    let mut labels = Vec::with_capacity(n);
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let vals: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()?;
        if vals.len() != k + 1 {
            return Err(format!("expected {} columns, got {}", k + 1, vals.len()).into());
        }
        feats.extend_from_slice(&vals[..k]);
        labels.push(vals[k]);
    }
    if labels.len() != n {
        return Err(format!("header says {n} rows, found {}", labels.len()).into());
    }
    let x = LogisticPosterior::standardized_design(&feats, n);
    Ok(LogisticPosterior::new(x, labels, prior_sd)?)
}
