//! Agreement with ArviZ (version in the fixture header) on fixture chains.
//!
//! The fixture `tests/fixtures/arviz_reference.txt` is produced by
//! `tests/fixtures/make_arviz_reference.py`; no Python is needed here.
//! Every diagnostic must agree to 1e-12 relative (absolute for values near 0).
//! Deterministic: no randomness at test time.
//!
//! Bugs caught: any deviation from ArviZ's definitions (split order, rank
//! offset, tie handling, Geyer truncation, τ floor, folding median, quantile
//! rule, Beta-interval indexing, FFT normalisation).

use langevin::diagnostics::{
    Summary, autocorrelation, ess_bulk, ess_mean, ess_quantile, ess_sd, ess_tail, mcse_mean,
    mcse_quantile, mcse_sd, rhat_rank, rhat_split,
};

struct Dataset {
    name: String,
    chains: Vec<Vec<f64>>,
    values: Vec<(String, Option<f64>, f64)>,
    /// Same diagnostics from arviz-stats (ArviZ 1.x backend).
    stats: Vec<(String, Option<f64>, f64)>,
    autocorr: Vec<(usize, Vec<f64>)>,
}

fn parse() -> Vec<Dataset> {
    let text = include_str!("fixtures/arviz_reference.txt");
    let mut out: Vec<Dataset> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut it = line.split_whitespace();
        let tag = it.next().unwrap();
        let rest: Vec<&str> = it.collect();
        let num = |s: &str| s.parse::<f64>().unwrap();
        match tag {
            "dataset" => out.push(Dataset {
                name: rest[0].to_owned(),
                chains: Vec::new(),
                values: Vec::new(),
                stats: Vec::new(),
                autocorr: Vec::new(),
            }),
            "chain" => {
                let d = out.last_mut().unwrap();
                d.chains.push(rest[1..].iter().map(|s| num(s)).collect());
            }
            "value" => {
                let d = out.last_mut().unwrap();
                d.values.push((rest[0].to_owned(), None, num(rest[1])));
            }
            "valuep" => {
                let d = out.last_mut().unwrap();
                d.values
                    .push((rest[0].to_owned(), Some(num(rest[1])), num(rest[2])));
            }
            "autocorr" => {
                let d = out.last_mut().unwrap();
                let i: usize = rest[0].parse().unwrap();
                d.autocorr
                    .push((i, rest[1..].iter().map(|s| num(s)).collect()));
            }
            "stats" => {
                let d = out.last_mut().unwrap();
                if rest.len() == 2 {
                    d.stats.push((rest[0].to_owned(), None, num(rest[1])));
                } else {
                    d.stats
                        .push((rest[0].to_owned(), Some(num(rest[1])), num(rest[2])));
                }
            }
            "end" => {}
            other => panic!("unknown fixture tag {other}"),
        }
    }
    out
}

fn rel_dev(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1e-3)
}

#[test]
fn matches_arviz_to_1e12() {
    let data = parse();
    assert_eq!(data.len(), 5);
    let mut worst = (0.0f64, String::new());
    let mut checked = 0;
    for d in &data {
        let c = &d.chains;
        for (key, prob, want) in &d.values {
            let got = match (key.as_str(), prob) {
                ("ess_bulk", None) => ess_bulk(c),
                ("ess_tail", None) => ess_tail(c),
                ("ess_mean", None) => ess_mean(c),
                ("ess_sd", None) => ess_sd(c),
                ("rhat_rank", None) => rhat_rank(c),
                ("rhat_split", None) => rhat_split(c),
                ("mcse_mean", None) => mcse_mean(c),
                ("mcse_sd", None) => mcse_sd(c),
                ("ess_quantile", Some(p)) => ess_quantile(c, *p),
                ("mcse_quantile", Some(p)) => mcse_quantile(c, *p),
                (k, None) if k.starts_with("np_") => continue, // checked below
                _ => panic!("unknown key {key}"),
            }
            .unwrap();
            let dev = rel_dev(got, *want);
            println!(
                "{:>6} {key:>14} {prob:?}: got {got:.17e} want {want:.17e} dev {dev:.2e}",
                d.name
            );
            if dev > worst.0 {
                worst = (dev, format!("{} {key} {prob:?}", d.name));
            }
            assert!(
                dev < 1e-12,
                "{} {key} {prob:?}: got {got} want {want}",
                d.name
            );
            checked += 1;
        }
        for (i, want) in &d.autocorr {
            let got = autocorrelation(&c[*i]).unwrap();
            for (t, w) in want.iter().enumerate() {
                let dev = (got[t] - w).abs();
                if dev > worst.0 {
                    worst = (dev, format!("{} autocorr chain {i} lag {t}", d.name));
                }
                assert!(dev < 1e-12, "{} autocorr chain {i} lag {t}", d.name);
                checked += 1;
            }
        }
    }
    println!(
        "checked {checked} values; worst deviation {:.3e} at {}",
        worst.0, worst.1
    );
}

/// The `Summary` row must reproduce NumPy's mean / sd (ddof = 1) / linear
/// quantiles and the ArviZ diagnostics above (same 1e-12 bound).
/// Catches: a different quantile rule or sd normalisation in the summary.
#[test]
fn summary_matches_numpy_and_arviz() {
    for d in parse() {
        let s = Summary::new(&d.name, &d.chains).unwrap();
        let get = |k: &str| {
            d.values
                .iter()
                .find(|(key, p, _)| key == k && p.is_none())
                .map(|v| v.2)
                .unwrap()
        };
        let pairs = [
            (s.mean, get("np_mean")),
            (s.sd, get("np_sd")),
            (s.q5, get("np_q5")),
            (s.q50, get("np_q50")),
            (s.q95, get("np_q95")),
            (s.ess_bulk, get("ess_bulk")),
            (s.ess_tail, get("ess_tail")),
            (s.mcse_mean, get("mcse_mean")),
            (s.mcse_sd, get("mcse_sd")),
            (s.r_hat.unwrap(), get("rhat_rank")),
        ];
        for (i, (got, want)) in pairs.into_iter().enumerate() {
            assert!(
                rel_dev(got, want) < 1e-12,
                "{} field {i}: {got} vs {want}",
                d.name
            );
        }
    }
}

/// arviz-stats 0.8.0 (the computational backend of ArviZ 1.x) gives the same
/// values as arviz 0.23.4 for every diagnostic except the MCSE of the sd,
/// where it plugs in the ESS of the *raw* draws instead of the ESS of the
/// squared deviations. We follow arviz 0.23 (see `mcse_sd` docs) and check
/// here that the arviz-stats value is exactly our formula with that one
/// substitution, so the difference is pinned down.
#[test]
fn matches_arviz_stats_except_documented_mcse_sd_variant() {
    let mut n = 0;
    for d in parse() {
        let c = &d.chains;
        for (key, prob, want) in &d.stats {
            let got = match (key.as_str(), prob) {
                ("ess_bulk", None) => ess_bulk(c).unwrap(),
                ("ess_tail", None) => ess_tail(c).unwrap(),
                ("ess_mean", None) => ess_mean(c).unwrap(),
                ("ess_sd", None) => ess_sd(c).unwrap(),
                ("rhat_rank", None) => rhat_rank(c).unwrap(),
                ("rhat_split", None) => rhat_split(c).unwrap(),
                ("mcse_mean", None) => mcse_mean(c).unwrap(),
                ("mcse_sd", None) => {
                    // arviz-stats variant: varvar / ESS_mean(raw draws).
                    let flat: Vec<f64> = c.iter().flatten().copied().collect();
                    let nf = flat.len() as f64;
                    let mu = flat.iter().sum::<f64>() / nf;
                    let y: Vec<f64> = flat.iter().map(|v| (v - mu) * (v - mu)).collect();
                    let ey = y.iter().sum::<f64>() / nf;
                    let ey2 = y.iter().map(|v| v * v).sum::<f64>() / nf;
                    ((ey2 - ey * ey) / ess_mean(c).unwrap() / ey / 4.0).sqrt()
                }
                ("ess_quantile", Some(p)) => ess_quantile(c, *p).unwrap(),
                ("mcse_quantile", Some(p)) => mcse_quantile(c, *p).unwrap(),
                _ => panic!("unknown key {key}"),
            };
            assert!(
                rel_dev(got, *want) < 1e-12,
                "{} {key} {prob:?}: got {got} want {want}",
                d.name
            );
            n += 1;
        }
    }
    assert_eq!(n, 80);
}
