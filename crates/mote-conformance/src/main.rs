//! `mote-conformance`: runs the ONNX node conformance suite against the reference interpreter.
//!
//! ```text
//! cargo run -p mote-conformance --release -- [--filter SUBSTR]... [--failures] [--update] [--threads N] [--json]
//! cargo run -p mote-conformance --release -- --models
//! ```
//! `--models` runs the shared real models instead (every test set, and silero_vad's stream).
//! `--report FILE.md` writes the results as Markdown (per-op pass rates, failures by reason).
//! Prints the pass count (overall and for `edge_core_tests.txt`), then any regressions (tests
//! `expected.tsv` says pass that now fail) and newly passing tests. `--update` rewrites
//! `expected.tsv`, keeping the reasons of tests that still fail. Exit code 1 on regressions.

use std::collections::BTreeMap;
use std::process::ExitCode;

use mote_conformance::manifest::{Expected, expected_path, load_expected_from, save_expected};
use mote_conformance::run::run_all;
use mote_conformance::suite::{Engine, Outcome};
use mote_conformance::{edge_core_tests, node_dir};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = Vec::new();
    let (mut update, mut failures, mut json, mut models_only) = (false, false, false, false);
    let mut engine = Engine::Interp;
    let mut report: Option<String> = None;
    let mut threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--filter" => filters.extend(it.next().cloned()),
            "--update" => update = true,
            "--report" => report = it.next().cloned(),
            "--failures" => failures = true,
            "--json" => json = true,
            "--models" => models_only = true,
            "--compiled" => engine = Engine::Compiled,
            "--threads" => threads = it.next().and_then(|n| n.parse().ok()).unwrap_or(threads),
            "-h" | "--help" => {
                println!(
                    "usage: mote-conformance [--compiled] [--filter SUBSTR]... [--failures] [--update] [--threads N] [--json]\n       mote-conformance [--compiled] --models\n\n--compiled runs every test through mote-compile and the runtime (manifest expected_compiled.tsv)"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument `{other}` (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    if models_only {
        return models(engine);
    }
    let Some(dir) = node_dir() else {
        eprintln!(
            "conformance suite not found: expected ../shared/data/conformance/node next to the workspace, or set MOTE_SHARED_DATA"
        );
        return ExitCode::from(2);
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|r| {
            r.flatten()
                .filter(|e| e.path().join("model.onnx").exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if !filters.is_empty() {
        names.retain(|n| filters.iter().any(|f| n.contains(f.as_str())));
    }
    let expected = match load_expected_from(expected_path(engine)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };

    let quiet = json;
    let outcomes = run_all(&dir, &names, threads, engine, &|done, total| {
        if !quiet && (done % 200 == 0 || done == total) {
            eprintln!("  {done}/{total}");
        }
    });

    let edge: Vec<String> = edge_core_tests();
    let passed = outcomes.iter().filter(|o| o.is_pass()).count();
    let edge_total = names.iter().filter(|n| edge.contains(n)).count();
    let edge_passed = names.iter().zip(&outcomes).filter(|(n, o)| o.is_pass() && edge.contains(n)).count();
    let mut regressions = Vec::new();
    let mut newly = Vec::new();
    for (n, o) in names.iter().zip(&outcomes) {
        match (expected.get(n), o) {
            (Some(Expected::Pass), Outcome::Fail(r)) => regressions.push((n.clone(), r.clone())),
            (Some(Expected::Fail(_)) | None, Outcome::Pass) => newly.push(n.clone()),
            _ => {}
        }
    }

    if json {
        let fails: BTreeMap<&str, &str> = names
            .iter()
            .zip(&outcomes)
            .filter_map(|(n, o)| match o {
                Outcome::Fail(r) => Some((n.as_str(), r.as_str())),
                Outcome::Pass => None,
            })
            .collect();
        let v = serde_json::json!({
            "total": names.len(), "passed": passed, "edge_core_total": edge_total, "edge_core_passed": edge_passed,
            "regressions": regressions.iter().map(|(n, _)| n).collect::<Vec<_>>(), "newly_passing": newly, "failures": fails,
        });
        println!("{v:#}");
    } else {
        if failures {
            for (n, o) in names.iter().zip(&outcomes) {
                if let Outcome::Fail(r) = o {
                    println!("FAIL {n}: {r}");
                }
            }
        }
        for (n, r) in &regressions {
            println!("REGRESSION {n}: {r}");
        }
        for n in &newly {
            println!("NEWLY PASSING {n}");
        }
        println!(
            "conformance: {passed}/{} passed (edge core {edge_passed}/{edge_total}); {} regression(s), {} newly passing",
            names.len(),
            regressions.len(),
            newly.len()
        );
    }

    if let Some(path) = &report {
        let md = mote_conformance::report::markdown(&names, &outcomes, &edge);
        if let Err(e) = std::fs::write(path, md) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::from(2);
        }
        eprintln!("wrote {path}");
    }

    if update {
        let mut m = if filters.is_empty() { BTreeMap::new() } else { expected.clone() };
        for (n, o) in names.iter().zip(&outcomes) {
            let e = match o {
                Outcome::Pass if matches!(expected.get(n), Some(Expected::Any(_))) => expected[n].clone(),
                Outcome::Pass => Expected::Pass,
                Outcome::Fail(r) => match expected.get(n) {
                    Some(Expected::Fail(old)) => Expected::Fail(old.clone()),
                    Some(Expected::Any(old)) => Expected::Any(old.clone()),
                    _ => Expected::Fail(mote_conformance::manifest::reason_for(r)),
                },
            };
            m.insert(n.clone(), e);
        }
        if let Err(e) = save_expected(&m, expected_path(engine)) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        eprintln!("updated {}", expected_path(engine));
    }
    if regressions.is_empty() || update { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs the shared real models and prints one line per test set.
fn models(engine: Engine) -> ExitCode {
    let Some(data) = mote_conformance::shared_data() else {
        eprintln!("shared data not found: expected ../shared/data next to the workspace, or set MOTE_SHARED_DATA");
        return ExitCode::from(2);
    };
    let mut ok = true;
    for m in mote_conformance::models::real_models(&data.join("models")) {
        match mote_conformance::models::run_real_model(&m, engine) {
            Err(e) => {
                ok = false;
                println!("{:<28} FAIL {e}", m.name);
            }
            Ok(sets) => {
                let (reference, tol) = m.reference_for(engine);
                for s in sets {
                    ok &= s.result.is_ok();
                    let r = match &s.result {
                        Ok(()) => format!(
                            "ok: max |diff| {:.2e} (vs {}, atol {:.0e}, {} LSB{})",
                            s.max_diff.unwrap_or(0.0),
                            reference,
                            tol.atol,
                            tol.int_steps,
                            if m.top1 { ", same top-1" } else { "" }
                        ),
                        Err(e) => format!("FAIL {e}"),
                    };
                    println!("{:<28} {:<18} {:>9.1} ms  {r}", m.name, s.set, s.run_ms);
                }
            }
        }
    }
    match mote_conformance::models::silero_stream(&data.join("models/silero_vad")) {
        Ok(r) => println!(
            "silero_vad stream: {} chunks, max |prob diff| {:.2e}, max |state diff| {:.2e}",
            r.chunks, r.max_prob_diff, r.max_state_diff
        ),
        Err(e) => {
            ok = false;
            println!("silero_vad stream: FAIL {e}");
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
