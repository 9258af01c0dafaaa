//! Export round trips: CmdStan CSV parsed back, `.npy` header parsed by hand. All tests are
//! deterministic (exact equality of parsed values with the trace's values).
#![allow(clippy::float_cmp)] // round trips must be bit-exact

use langevin::export::{CmdStanCsv, DrawStats, read_cmdstan_csv, write_npy};
use langevin::prelude::*;
use langevin::run::NoAdaptation;
use langevin::targets::Gaussian;

fn run(thin: usize, stats: &DrawStats) -> (Gaussian<f64>, Trace<f64>) {
    let g = Gaussian::<f64>::full(
        vec![1.0, -1.0, 0.5],
        &[1.0, 0.3, 0.0, 0.3, 2.0, 0.1, 0.0, 0.1, 0.5],
    )
    .unwrap();
    let mala = Mala::new(g.clone(), 0.4).unwrap();
    let t = Sampler::new(50)
        .chains(3)
        .warmup(20)
        .thin(thin)
        .seed(11)
        .run_with(&mala, &[vec![0.0; 3]], &NoAdaptation, stats)
        .unwrap();
    (g, t)
}

/// Catches: rounding in the number format, columns out of order, draws of the wrong chain,
/// per-draw statistics misaligned with draws under thinning, lp__ of the wrong point,
/// configuration comments that ArviZ's parser would not find (`num_samples`, `thin`,
/// `Step size`), header not on the first non-comment line.
#[test]
fn cmdstan_csv_round_trip() {
    for thin in [1, 3] {
        let stats = DrawStats::new();
        let (g, t) = run(thin, &stats);
        let dir =
            std::env::temp_dir().join(format!("langevin_export_{}_{thin}", std::process::id()));
        let paths = CmdStanCsv::new()
            .names(["mu.1", "mu.2", "sigma"])
            .log_density(|x: &[f64]| g.log_density(x))
            .stats(&stats)
            .step_size(0.4)
            .run_config(20, thin, 11)
            .write_files(&t, &dir, "out")
            .unwrap();
        assert_eq!(paths.len(), 3);
        for (c, p) in paths.iter().enumerate() {
            assert!(p.ends_with(format!("out_{}.csv", c + 1)));
            let text = std::fs::read_to_string(p).unwrap();
            let first_data = text.lines().find(|l| !l.starts_with('#')).unwrap();
            assert_eq!(
                first_data,
                "lp__,accept_stat__,stepsize__,divergent__,mu.1,mu.2,sigma"
            );
            let back = read_cmdstan_csv(text.as_bytes()).unwrap();
            assert_eq!(back.rows.len(), 50);
            // CmdStan's num_samples counts iterations (50 draws kept every `thin`).
            assert_eq!(back.config("num_samples"), Some((50 * thin).to_string()));
            assert_eq!(back.config("thin"), Some(thin.to_string()));
            assert_eq!(back.config("Step size").as_deref(), Some("0.4"));
            assert_eq!(back.config("id"), Some((c + 1).to_string()));
            let rec = stats.chain(c);
            assert_eq!(rec.len(), 50 * thin);
            for i in 0..50 {
                let x = t.draw(c, i);
                let row = &back.rows[i];
                assert_eq!(&row[4..], x, "chain {c} draw {i}");
                assert_eq!(row[0], g.log_density(x));
                let (ap, div) = rec[i * thin + thin - 1];
                assert_eq!(row[1], ap);
                assert_eq!(row[2], 0.4);
                assert_eq!(row[3], f64::from(u8::from(div)));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Catches: silent truncation when names or stats do not match the trace, non-finite
/// values written in a spelling the parser (and CmdStan readers) reject.
#[test]
fn cmdstan_csv_rejects_mismatches_and_spells_non_finite() {
    let stats = DrawStats::new();
    let (_, t) = run(1, &stats);
    let mut buf = Vec::new();
    assert!(
        CmdStanCsv::new()
            .names(["a", "b"])
            .write_chain(&t, 0, &mut buf)
            .is_err()
    );
    assert!(
        CmdStanCsv::new()
            .names(["a", "b,c", "d"])
            .write_chain(&t, 0, &mut buf)
            .is_err()
    );
    assert!(CmdStanCsv::new().write_chain(&t, 3, &mut buf).is_err());
    // stats recorded with thin 1 but declared thin 2: count mismatch
    assert!(
        CmdStanCsv::new()
            .stats(&stats)
            .run_config(20, 2, 0)
            .write_chain(&t, 0, &mut buf)
            .is_err()
    );
    let mut buf = Vec::new();
    CmdStanCsv::new()
        .log_density(|x: &[f64]| {
            if x[0] > 1.0 {
                f64::NEG_INFINITY
            } else {
                f64::NAN
            }
        })
        .write_chain(&t, 0, &mut buf)
        .unwrap();
    let back = read_cmdstan_csv(&buf[..]).unwrap();
    assert_eq!(back.columns, ["lp__", "x.1", "x.2", "x.3"]);
    for r in &back.rows {
        if r[1] > 1.0 {
            assert_eq!(r[0], f64::NEG_INFINITY);
        } else {
            assert!(r[0].is_nan());
        }
    }
}

/// Catches: a header whose length is not padded to a multiple of 64, a wrong version byte,
/// a shape in the wrong order, big-endian or f32 data, draws written chain-minor.
#[test]
fn npy_round_trip_with_hand_parsed_header() {
    let (_, t) = run(1, &DrawStats::new());
    let mut buf = Vec::new();
    write_npy(&t, &mut buf).unwrap();
    assert_eq!(&buf[..6], b"\x93NUMPY");
    assert_eq!(buf[6], 1);
    assert_eq!(buf[7], 0);
    let hlen = u16::from_le_bytes([buf[8], buf[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0, "data must start at a multiple of 64");
    let header = std::str::from_utf8(&buf[10..10 + hlen]).unwrap();
    assert!(header.ends_with('\n'));
    assert!(header.starts_with('{'));
    assert!(header.contains("'descr': '<f8'"));
    assert!(header.contains("'fortran_order': False"));
    let shape_start = header.find("'shape': (").unwrap() + "'shape': (".len();
    let shape_end = shape_start + header[shape_start..].find(')').unwrap();
    let shape: Vec<usize> = header[shape_start..shape_end]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    assert_eq!(shape, [3, 50, 3]);
    let data = &buf[10 + hlen..];
    assert_eq!(data.len(), 3 * 50 * 3 * 8);
    for c in 0..3 {
        for i in 0..50 {
            for j in 0..3 {
                let k = ((c * 50 + i) * 3 + j) * 8;
                let v = f64::from_le_bytes(data[k..k + 8].try_into().unwrap());
                assert_eq!(v, t.draw(c, i)[j]);
            }
        }
    }
}
