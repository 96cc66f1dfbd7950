//! The real models compiled and run on 1, 2 and 3 threads: the outputs are bit-identical.
//! Skipped (with a message) when the shared data is absent.

use mote_conformance::shared_data;
use mote_conformance::suite::{data_sets, load_graph, read_values};
use mote_ir::{Value, ValueType};
use mote_rt::host::AlignedBuf;
use mote_rt::pool::ThreadPool;
use mote_rt::{Parallel, Runtime, Sequential};

/// Models, with the inputs compiled as constants.
const MODELS: &[(&str, &[&str])] = &[("efficientnet_lite0", &[]), ("ppocrv4_det", &[]), ("silero_vad", &["sr"])];

#[test]
fn real_models_are_bit_identical_on_one_two_and_three_threads() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED multi-threaded real models: ../shared/data not found (set MOTE_SHARED_DATA to run them)");
        return;
    };
    for &(name, consts) in MODELS {
        let dir = data.join("models").join(name);
        let graph = load_graph(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let types: Vec<ValueType> = graph.runtime_inputs().iter().map(|&i| graph.value(i).ty.clone()).collect();
        let set = &data_sets(&dir)[0];
        let inputs = read_values(set, "input", &types).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut opts = mote_compile::Options::default();
        let mut named = Vec::new();
        for (&id, v) in graph.runtime_inputs().iter().zip(&inputs) {
            let (n, Value::Tensor(t)) = (graph.value(id).name.clone(), v) else { panic!("{name}: input not a tensor") };
            if consts.contains(&n.as_str()) {
                opts.constants.insert(n, t.clone());
            } else {
                opts.shapes.insert(n.clone(), t.shape().to_vec());
                named.push((n, v.clone()));
            }
        }
        let c = mote_compile::compile(graph, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = AlignedBuf::from_bytes(&c.bytes);
        let rt = Runtime::load(file.as_ref()).unwrap();
        let run = |par: &dyn Parallel| -> Vec<Vec<u8>> {
            let mut arena = AlignedBuf::zeroed(rt.arena_size());
            mote_compile::host::run_named_par(&rt, &mut arena, &named, par).unwrap_or_else(|e| panic!("{name}: {e}"));
            (0..rt.outputs().count()).map(|i| rt.output(arena.as_ref(), i).unwrap().to_vec()).collect()
        };
        let want = run(&Sequential);
        for threads in 1..=3 {
            // The default grain (as `mote bench`), and grain 1: every splittable step split.
            for split_all in [false, true] {
                let mut pool = ThreadPool::for_runtime(&rt, threads).unwrap();
                if split_all {
                    pool = pool.with_grain(1);
                }
                assert!(run(&pool) == want, "{name}: {threads} threads (grain 1: {split_all}) changed the outputs");
            }
        }
        eprintln!("{name:<20} bit-identical on 1, 2 and 3 threads");
    }
}
