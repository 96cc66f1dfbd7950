//! The shared real models through the reference interpreter, against their reference outputs
//! (tolerances from each model's meta.json), and silero_vad's stream with the state carried.
//! Skipped (with a message) when the shared data is absent.

use mote_conformance::models::{real_models, run_real_model, silero_stream, silero_stream_with};
use mote_conformance::shared_data;
use mote_conformance::suite::Engine;

#[test]
fn real_models_match_references() {
    check(Engine::Interp);
}

/// The same models compiled to `.mote` and run in the runtime (shape-like inputs such as
/// silero_vad's `sr` fixed as constants). Models the compiled path cannot take are listed with
/// the reason; they must fail to compile (not silently pass or crash).
#[test]
fn real_models_match_references_compiled() {
    check(Engine::Compiled);
}

/// Models the compiled path does not take yet, with the reason (none today: ort_logreg_iris's
/// ZipMap output compiles through the output signature).
const NOT_COMPILED: &[(&str, &str)] = &[];

fn check(engine: Engine) {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED real models: ../shared/data not found (set MOTE_SHARED_DATA to run them)");
        return;
    };
    let models = real_models(&data.join("models"));
    assert!(models.len() >= 9, "expected the shared models, found {}", models.len());
    let mut failures = Vec::new();
    for m in &models {
        if engine == Engine::Compiled
            && let Some((_, why)) = NOT_COMPILED.iter().find(|(n, _)| *n == m.name)
        {
            let r = run_real_model(m, engine);
            let refused = r.as_ref().map_or(true, |sets| {
                sets.iter().all(|s| s.result.as_ref().is_err_and(|e| e.contains("cannot be compiled")))
            });
            assert!(refused, "{} is listed as not compiled ({why}) but now compiles: update NOT_COMPILED", m.name);
            eprintln!("{:<28} not compiled: {why}", m.name);
            continue;
        }
        match run_real_model(m, engine) {
            Err(e) => failures.push(format!("{}: {e}", m.name)),
            Ok(sets) => {
                for s in sets {
                    eprintln!(
                        "{:<28} {:<18} {:>9.1} ms  {}",
                        m.name,
                        s.set,
                        s.run_ms,
                        if s.result.is_ok() { "ok" } else { "FAIL" }
                    );
                    if let Err(e) = s.result {
                        failures.push(format!("{} {}: {e}", m.name, s.set));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn silero_vad_stream_carries_state() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED silero_vad stream: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let r = silero_stream(&data.join("models/silero_vad")).unwrap();
    eprintln!(
        "silero_vad stream: {} chunks, max |prob diff| {:.2e}, max |state diff| {:.2e}",
        r.chunks, r.max_prob_diff, r.max_state_diff
    );
    assert!(r.chunks > 100);
    assert!(r.max_prob_diff <= 1e-4, "probability differs by {}", r.max_prob_diff);
    assert!(r.max_state_diff <= 1e-4, "state differs by {}", r.max_state_diff);
}

#[test]
fn silero_vad_stream_compiled() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED silero_vad stream (compiled): ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let r = silero_stream_with(&data.join("models/silero_vad"), Engine::Compiled).unwrap();
    eprintln!(
        "silero_vad stream (compiled): {} chunks, max |prob diff| {:.2e}, max |state diff| {:.2e}",
        r.chunks, r.max_prob_diff, r.max_state_diff
    );
    assert!(r.chunks > 100);
    assert!(r.max_prob_diff <= 1e-4, "probability differs by {}", r.max_prob_diff);
    assert!(r.max_state_diff <= 1e-4, "state differs by {}", r.max_state_diff);
}
