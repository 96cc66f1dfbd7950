//! The ONNX node conformance suite against `expected.tsv`: any test that should pass and fails
//! is a regression; any test that passes but is listed as failing means the manifest is stale.
//! Skipped (with a message) when the shared data is absent.

use mote_conformance::manifest::{Expected, expected_path, load_expected_from};
use mote_conformance::run::run_all;
use mote_conformance::suite::{Engine, Outcome};
use mote_conformance::{edge_core_tests, node_dir};

#[test]
fn conformance_suite_matches_manifest() {
    check(Engine::Interp);
}

/// The same tests compiled to `.mote` and run in the runtime, against `expected_compiled.tsv`.
#[test]
fn compiled_path_matches_manifest() {
    check(Engine::Compiled);
}

fn check(engine: Engine) {
    let Some(dir) = node_dir() else {
        eprintln!("SKIPPED conformance: ../shared/data/conformance/node not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let path = expected_path(engine);
    let expected = load_expected_from(path).expect("the manifest parses");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("model.onnx").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let outcomes = run_all(&dir, &names, threads, engine, &|_, _| {});

    let mut problems = Vec::new();
    for (n, o) in names.iter().zip(&outcomes) {
        match (expected.get(n), o) {
            (Some(Expected::Pass), Outcome::Fail(r)) => problems.push(format!("REGRESSION {n}: {r}")),
            (Some(Expected::Fail(_)), Outcome::Pass) => problems.push(format!("NOW PASSES (update {path}) {n}")),
            (None, _) => problems.push(format!("NOT IN MANIFEST {n}")),
            _ => {}
        }
    }
    let passed = outcomes.iter().filter(|o| o.is_pass()).count();
    let edge = edge_core_tests();
    let edge_passed = names.iter().zip(&outcomes).filter(|(n, o)| o.is_pass() && edge.contains(n)).count();
    eprintln!("conformance ({engine:?}): {passed}/{} passed (edge core {edge_passed}/{})", names.len(), edge.len());
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
