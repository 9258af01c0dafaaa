//! The CmdStan CSV reader rejects truncated files (issue 10 item 20): a file cut mid-number,
//! mid-row or at a row boundary must be an `InvalidData` error, never a shorter chain.
//! Deterministic.

use langevin::export::{CmdStanCsv, read_cmdstan_csv};
use langevin::prelude::*;
use langevin::run::NoAdaptation;
use langevin::targets::Gaussian;
use std::io::ErrorKind;

/// A complete 20-draw, 2-chain CmdStan document for chain 0 (thin 2, so the file states
/// `num_samples = 40`, `thin = 2`).
fn document() -> String {
    let g = Gaussian::<f64>::standard(2).unwrap();
    let mala = Mala::new(g.clone(), 0.5).unwrap();
    let t = Sampler::new(20)
        .chains(2)
        .warmup(10)
        .thin(2)
        .seed(3)
        .run_with(&mala, &[vec![0.3, -0.2]], &NoAdaptation, &())
        .unwrap();
    assert_eq!(t.coordinate(0, 0).len(), 20);
    let mut buf = Vec::new();
    CmdStanCsv::new()
        .log_density(|x: &[f64]| g.log_density(x))
        .run_config(10, 2, 3)
        .write_chain(&t, 0, &mut buf)
        .unwrap();
    String::from_utf8(buf).unwrap()
}

fn is_invalid_data(r: std::io::Result<langevin::export::CmdStanChain>) -> bool {
    matches!(r, Err(e) if e.kind() == ErrorKind::InvalidData)
}

/// Catches: the reader accepting the half file of the issue (9 rows of 20, the last number
/// clipped) — before the fix every cut below parsed as `Ok` with fewer rows; the full file
/// must still read back with all 20 rows.
#[test]
fn truncated_files_are_rejected() {
    let doc = document();
    let full = read_cmdstan_csv(doc.as_bytes()).unwrap();
    assert_eq!(full.rows.len(), 20);
    assert_eq!(full.config("num_samples").as_deref(), Some("40"));

    // Byte offsets of the 20 data rows.
    let mut starts = Vec::new();
    let mut off = 0;
    let mut seen_header = false;
    for line in doc.split_inclusive('\n') {
        if !line.starts_with('#') {
            if seen_header {
                starts.push((off, line.len()));
            }
            seen_header = true;
        }
        off += line.len();
    }
    assert_eq!(starts.len(), 20);

    // Mid-number: cut inside the last field of row 9 (the last field is a long decimal).
    let (s9, len9) = starts[8];
    let cut = s9 + len9 - 4;
    let half = &doc[..cut];
    let err = read_cmdstan_csv(half.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.to_string().contains("newline"), "{err}");

    // Mid-row: cut after the first comma of row 12 (fewer fields) and just before the
    // newline of row 12 (all fields, last one whole, newline missing).
    let (s12, len12) = starts[11];
    let comma = doc[s12..].find(',').unwrap();
    assert!(is_invalid_data(read_cmdstan_csv(
        &doc.as_bytes()[..s12 + comma + 1]
    )));
    assert!(is_invalid_data(read_cmdstan_csv(
        &doc.as_bytes()[..s12 + len12 - 1]
    )));

    // At a row boundary (newline present): the row count disagrees with the header.
    let (s15, _) = starts[14];
    let err = read_cmdstan_csv(&doc.as_bytes()[..s15]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.to_string().contains("state 20 draws"), "{err}");

    // Every cut inside the data section fails; only the cut after the last row (losing
    // just the timing footer) is a complete chain.
    let (s20, len20) = starts[19];
    for cut in starts[0].0 + 1..s20 + len20 {
        assert!(
            is_invalid_data(read_cmdstan_csv(&doc.as_bytes()[..cut])),
            "cut at byte {cut} of {} accepted",
            doc.len()
        );
    }
    assert_eq!(
        read_cmdstan_csv(&doc.as_bytes()[..s20 + len20])
            .unwrap()
            .rows
            .len(),
        20
    );
}

/// Catches: a row-count check that ignores CmdStan's conventions — `⌈num_samples/thin⌉`
/// rows, plus `⌈num_warmup/thin⌉` warm-up rows when `save_warmup = 1` — and files that do
/// not state a count (other methods, or no `num_samples`) being rejected.
#[test]
fn row_count_follows_cmdstan_conventions() {
    let rows = |k: usize| -> String { (0..k).map(|i| format!("{i},0.5\n")).collect() };
    let doc =
        |cfg: &str, k: usize| format!("# method = sample (Default)\n{cfg}lp__,x\n{}", rows(k));
    let cfg = "#   num_samples = 7\n#   num_warmup = 5\n#   save_warmup = 1\n#   thin = 3\n";
    // ⌈7/3⌉ + ⌈5/3⌉ = 3 + 2 = 5
    assert_eq!(
        read_cmdstan_csv(doc(cfg, 5).as_bytes()).unwrap().rows.len(),
        5
    );
    assert!(is_invalid_data(read_cmdstan_csv(doc(cfg, 4).as_bytes())));
    assert!(is_invalid_data(read_cmdstan_csv(doc(cfg, 6).as_bytes())));
    let cfg0 = "#   num_samples = 7\n#   num_warmup = 5\n#   save_warmup = 0\n#   thin = 3\n";
    assert_eq!(
        read_cmdstan_csv(doc(cfg0, 3).as_bytes())
            .unwrap()
            .rows
            .len(),
        3
    );
    // No stated count: any number of rows.
    assert_eq!(
        read_cmdstan_csv(doc("", 4).as_bytes()).unwrap().rows.len(),
        4
    );
    let other = format!(
        "# method = variational\n#   num_samples = 9\nlp__,x\n{}",
        rows(2)
    );
    assert_eq!(read_cmdstan_csv(other.as_bytes()).unwrap().rows.len(), 2);
    // A malformed stated count is an error, not "no count".
    let junk = "#   num_samples = many\n";
    assert!(is_invalid_data(read_cmdstan_csv(doc(junk, 1).as_bytes())));
    let thin0 = "#   num_samples = 4\n#   thin = 0\n";
    assert!(is_invalid_data(read_cmdstan_csv(doc(thin0, 1).as_bytes())));
    // A final line without its newline, even a complete-looking one, is rejected.
    let no_nl = format!("lp__,x\n{}1,2", rows(2));
    assert!(is_invalid_data(read_cmdstan_csv(no_nl.as_bytes())));
}
