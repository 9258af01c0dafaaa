//! The crate's layering rule, checked over the source: no module of a lower layer imports a
//! higher one (see the module map in `src/lib.rs`).
//!
//! | layer | modules | rule |
//! |---|---|---|
//! | 0 foundation | `real`, `error`, `rng`, `step`, `linalg`, `pool`, `diagnostics` | imports only layer 0; `diagnostics` is a leaf library on plain slices (except `stein_score.rs`, `stein_cv.rs`) |
//! | 1 what | `density`, `targets`, `sde`, `transform`, `autodiff` | a target knows no sampler |
//! | 2 how | `integrators`, `mcmc`, `annealed`, `smc` | a kernel knows no driver, files or threads (threads only through `pool`) |
//! | 3 driving | `run`, `trace`, `adapt`, `export`, `stream`, `progress`, `neural`, `distributed`; `sde/solve.rs` | may use everything below |
//! | 4 judging / presentation | `testing`, `plot`; `diagnostics/stein_score.rs`, `diagnostics/stein_cv.rs` | may use everything |
//!
//! Every `crate::…` path in code (comments and doc comments excluded: a doc link is not a
//! dependency) is resolved to the module it names — through `use crate::{…}` groups and the
//! root re-exports — and compared with the layer of the file that contains it. A module or
//! root name the table does not know fails the test, so a new module must be placed in a layer
//! when it is added.
//!
//! Bug it catches: any new upward import (e.g. a target calling a kernel's helper, a sampler
//! importing the driver's pool helper, a bijection naming `Trace`) — each of the four such
//! imports this rule was written against is listed in `upward_imports_are_detected` below and
//! is shown to fail.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layer of a top-level module.
fn module_layer(module: &str) -> Option<u8> {
    Some(match module {
        "real" | "error" | "rng" | "step" | "linalg" | "pool" | "diagnostics" => 0,
        "density" | "targets" | "sde" | "transform" | "autodiff" => 1,
        "integrators" | "mcmc" | "annealed" | "smc" => 2,
        "run" | "trace" | "adapt" | "export" | "stream" | "progress" | "neural" | "distributed" => {
            3
        }
        "testing" | "plot" => 4,
        _ => return None,
    })
}

/// Files placed in a layer other than their module's, each for a stated reason.
fn file_layer_override(rel: &str) -> Option<u8> {
    match rel {
        // The multi-path SDE solver runs integrators over many seeded paths on threads: a
        // driver, kept beside the SDEs it solves at `langevin::sde::Solver`.
        "sde/solve.rs" => Some(3),
        // Kernel Stein discrepancies *from a `Score`*: the one part of the diagnostics that
        // takes a target rather than plain slices.
        "diagnostics/stein_score.rs" => Some(4),
        // Zero-variance control variates and Stein thinning evaluate a target's `Score` at
        // the draws, as `stein_score.rs` does.
        "diagnostics/stein_cv.rs" => Some(4),
        _ => None,
    }
}

/// The module behind a name used right after `crate::` (a module, or a root re-export).
fn resolve(name: &str) -> Option<&'static str> {
    Some(match name {
        // Root re-exports (src/lib.rs) and exported macros.
        "LogDensity"
        | "NoiseConditionalLogDensity"
        | "NoiseConditionalScore"
        | "Score"
        | "Target" => "density",
        "Error" | "Result" => "error",
        "EulerMaruyama" | "Integrator" => "integrators",
        "Kernel" | "Mala" | "StepInfo" | "Ula" => "mcmc",
        "Real" => "real",
        "Observer" | "Sampler" => "run",
        "LangevinSde" | "Sde" => "sde",
        "Trace" => "trace",
        "assert_mcse_close" => "testing",
        // Modules.
        m => {
            let known = [
                "real",
                "error",
                "rng",
                "step",
                "linalg",
                "pool",
                "diagnostics",
                "density",
                "targets",
                "sde",
                "transform",
                "autodiff",
                "integrators",
                "mcmc",
                "annealed",
                "smc",
                "run",
                "trace",
                "adapt",
                "export",
                "stream",
                "progress",
                "neural",
                "distributed",
                "testing",
                "plot",
            ];
            return known.iter().find(|k| **k == m).copied();
        }
    })
}

/// Source with comments removed (line comments, doc comments and block comments); string
/// literals are kept (a `crate::` inside a string is rare and would only make the check
/// stricter).
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        if in_str {
            if b[i] == b'\\' && i + 1 < b.len() {
                out.push(b[i] as char);
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if b[i] == b'"' {
                in_str = false;
            }
            out.push(b[i] as char);
            i += 1;
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else {
            if b[i] == b'"' {
                in_str = true;
            }
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every name that follows `crate::` in `code`, expanding `crate::{a::b, c, d::{e}}` groups to
/// their first segments `a`, `c`, `d`.
fn crate_names(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(pos) = rest.find("crate::") {
        let before = rest[..pos].chars().next_back();
        rest = &rest[pos + "crate::".len()..];
        if matches!(before, Some(c) if c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // e.g. `$crate::` in a macro, or `my_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the brace group.
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        item.push(c);
                    }
                    '}' if depth == 0 => {
                        push_first_segment(&item, &mut names);
                        break;
                    }
                    '}' => {
                        depth -= 1;
                        item.push(c);
                    }
                    ',' if depth == 0 => {
                        push_first_segment(&item, &mut names);
                        item.clear();
                    }
                    _ => item.push(c),
                }
            }
        } else {
            push_first_segment(rest, &mut names);
        }
    }
    names
}

fn push_first_segment(item: &str, names: &mut Vec<String>) {
    let first: String = item
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !first.is_empty() && first != "self" {
        names.push(first);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer violations in one file's source, as messages; `rel` is its path below `src/`.
fn violations(rel: &str, src: &str) -> Vec<String> {
    if rel == "lib.rs" {
        return Vec::new(); // the crate root declares and re-exports every module
    }
    let module = rel.split(['/', '.']).next().unwrap_or_default();
    let Some(own) = file_layer_override(rel).or_else(|| module_layer(module)) else {
        return vec![format!(
            "src/{rel}: module `{module}` has no layer; add it to tests/layers.rs and to the module map in src/lib.rs"
        )];
    };
    let mut out = BTreeSet::new();
    for name in crate_names(&strip_comments(src)) {
        match resolve(&name).and_then(|m| module_layer(m).map(|l| (m, l))) {
            None => {
                out.insert(format!(
                    "src/{rel}: `crate::{name}` names nothing the layer table knows; add it to tests/layers.rs"
                ));
            }
            Some((m, l)) if l > own => {
                out.insert(format!(
                    "src/{rel} (layer {own}) imports `{m}` (layer {l}) through `crate::{name}`: \
                     a lower layer must not depend on a higher one"
                ));
            }
            Some(_) => {}
        }
    }
    out.into_iter().collect()
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 40,
        "expected the crate's sources under {src:?}"
    );
    let mut all = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&src)
            .expect("below src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(f).expect("readable source file");
        all.extend(violations(&rel, &text));
    }
    assert!(all.is_empty(), "layer violations:\n{}", all.join("\n"));
}

#[test]
fn upward_imports_are_detected() {
    // The four upward imports this check was written against, as they stood in 0.1.
    let cases = [
        (
            "annealed/particles.rs",
            "let r = crate::run::in_pool(run.threads, job)?;",
        ),
        (
            "targets/logistic.rs",
            "crate::mcmc::precond::cholesky(&h, self.d)",
        ),
        ("transform/mod.rs", "use crate::trace::Trace;"),
        ("sde/brownian.rs", "use crate::{error::check_len, Kernel};"),
    ];
    for (rel, code) in cases {
        assert_eq!(violations(rel, code).len(), 1, "{rel}: {code}");
    }
    // Comments and doc links are not dependencies; same-layer and downward imports are fine.
    assert!(
        violations(
            "targets/gaussian.rs",
            "/// see [`crate::mcmc::Mala`]\nuse crate::{Real, density::Score};"
        )
        .is_empty()
    );
    assert!(violations("mcmc/ula.rs", "use crate::integrators::EulerMaruyama;").is_empty());
    // An unknown name or module fails rather than passing silently.
    assert_eq!(violations("mcmc/x.rs", "use crate::nowhere::X;").len(), 1);
    assert_eq!(violations("newmod/x.rs", "use crate::real::Real;").len(), 1);
}
