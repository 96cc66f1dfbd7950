//! Target profiles: a microcontroller's plan (smallest kernel scratch, inputs consumed) gives
//! the same outputs in a smaller arena, and `budget::check` refuses what does not fit, naming
//! the peak step's live tensors, the largest weights and the ops the target lacks.

mod common;

use mote_compile::budget::{Budgets, check, parse_bytes};
use mote_compile::{Options, Target, compile, host};
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

fn compiled(g: mote_ir::Graph, target: Target) -> Vec<u8> {
    compile(g, &Options { target, ..Options::default() }).unwrap().bytes
}

fn arena(bytes: &[u8]) -> u64 {
    mote_format::Model::parse(AlignedBuf::from_bytes(bytes).as_ref()).unwrap().plan().arena_size
}

#[test]
fn a_microcontroller_plan_is_smaller_and_gives_the_same_bytes() {
    let g = common::qdq::qdq_graph();
    let x = mote_ir::Value::Tensor(common::qdq::qdq_input());
    let (host_file, mcu_file) = (compiled(g.clone(), Target::Generic), compiled(g.clone(), Target::CortexM4));
    assert!(
        arena(&mcu_file) < arena(&host_file),
        "cortex-m4 arena {} vs generic {}",
        arena(&mcu_file),
        arena(&host_file)
    );
    let run = |bytes: &[u8]| {
        let buf = AlignedBuf::from_bytes(bytes);
        let rt = Runtime::load(buf.as_ref()).unwrap();
        let mut a = AlignedBuf::zeroed(rt.arena_size());
        let name = g.value(g.runtime_inputs()[0]).name.clone();
        // Twice: a consumed input is set again before the second run.
        let first = host::run_named(&rt, &mut a, &[(name.clone(), x.clone())]).unwrap();
        let again = host::run_named(&rt, &mut a, &[(name, x.clone())]).unwrap();
        assert_eq!(first, again);
        (rt.inputs_consumed(), first)
    };
    let ((host_consumed, want), (mcu_consumed, got)) = (run(&host_file), run(&mcu_file));
    assert_eq!(got, want, "the cortex-m4 file's outputs differ from the generic file's");
    assert!(mcu_consumed && !host_consumed);
}

#[test]
fn budgets_name_the_peak_tensors_the_weights_and_the_overshoot() {
    let bytes = compiled(common::qdq::qdq_graph(), Target::CortexM4);
    let fit = check(&bytes, Target::CortexM4, Budgets::default()).unwrap();
    assert!(fit.problems().is_empty(), "{fit}");
    assert_eq!(fit.ram.arena, arena(&bytes));
    assert!(fit.peak.bytes <= fit.ram.arena && !fit.peak.live.is_empty(), "{fit}");
    let total = fit.ram.total();
    let small = check(&bytes, Target::CortexM4, Budgets { ram: Some(total - 100), flash: Some(1000) }).unwrap();
    let p = small.problems();
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].starts_with("RAM") && p[0].contains("over by 100 B") && p[0].contains(&fit.peak.live[0].0),
        "{}",
        p[0]
    );
    assert!(p[1].starts_with("flash") && p[1].contains(&fit.largest_weights[0].0), "{}", p[1]);
    // The default budgets come from the profile; a generic target has none.
    assert_eq!(fit.ram_budget, Some(256 * 1024));
    assert!(check(&bytes, Target::Generic, Budgets::default()).unwrap().ram_budget.is_none());
}

#[test]
fn string_ops_are_refused_on_a_microcontroller() {
    let bytes = compiled(common::text_graph(), Target::Generic);
    let mcu = check(&bytes, Target::CortexM4, Budgets::default()).unwrap();
    assert!(!mcu.lacks.is_empty() && mcu.problems().iter().any(|p| p.contains("string")), "{mcu}");
    let wasm = check(&bytes, Target::Wasm32, Budgets::default()).unwrap();
    assert!(wasm.lacks.is_empty(), "{wasm}");
}

#[test]
fn sizes_parse_with_units_and_bad_ones_are_explained() {
    assert_eq!(parse_bytes("256K"), Ok(256 * 1024));
    assert_eq!(parse_bytes("1M"), Ok(1 << 20));
    assert_eq!(parse_bytes("1.5 MiB"), Ok(3 << 19));
    assert_eq!(parse_bytes("300000"), Ok(300_000));
    assert_eq!(parse_bytes("64kb"), Ok(65536));
    assert!(parse_bytes("lots").unwrap_err().contains("256K"));
    assert!(parse_bytes("-1K").is_err());
}
