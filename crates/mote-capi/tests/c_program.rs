//! A C program (`examples/run_model.c`) compiled with the system C compiler against
//! `include/mote.h` and the static library `libmote.a` runs a model and writes the same output
//! bytes as the Rust runtime on the same input.

use std::path::PathBuf;
use std::process::Command;

use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

/// `target/<profile>`, where cargo put `libmote.a` beside this test's binary.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(|d| d.parent()).expect("target/<profile>/deps").to_path_buf()
}

#[test]
fn a_c_program_runs_a_model_through_the_static_library() {
    let lib = profile_dir().join("libmote.a");
    if !lib.exists() {
        // `cargo test` links the tests with the rlib and does not always build the static
        // library; scripts/test.sh builds it first and requires this test to run.
        let why = format!("{} is not built: run `cargo build --release -p mote-capi` first", lib.display());
        assert!(std::env::var("MOTE_REQUIRE_CAPI").as_deref() != Ok("1"), "{why}");
        eprintln!("SKIPPED the C program test: {why}");
        return;
    }
    let out = std::env::temp_dir().join(format!("mote-capi-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let exe = out.join("run_model");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-O1", "-I"])
        .arg(format!("{DIR}/include"))
        .arg(format!("{DIR}/examples/run_model.c"))
        .arg(&lib)
        .args(["-lm", "-lpthread", "-ldl", "-o"])
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(built.status.success(), "cc failed:\n{}", String::from_utf8_lossy(&built.stderr));
    let model = format!("{DIR}/../../fuzz/corpus/mote_load_run/tflm_hello_world_float.mote");
    let input = out.join("x.bin");
    std::fs::write(&input, 0.75f32.to_le_bytes()).unwrap();
    let ran = Command::new(&exe).arg(&model).arg(&out).arg(&input).output().unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "run_model failed:\n{stdout}\n{}", String::from_utf8_lossy(&ran.stderr));
    assert!(stdout.contains("input 0") && stdout.contains("f32"), "{stdout}");
    let got = std::fs::read(out.join("output_0.bin")).unwrap();
    let buf = AlignedBuf::from_bytes(&std::fs::read(&model).unwrap());
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    rt.input_mut(arena.as_mut(), 0).unwrap().copy_from_slice(&0.75f32.to_le_bytes());
    rt.invoke(arena.as_mut()).unwrap();
    assert_eq!(got, rt.output(arena.as_ref(), 0).unwrap(), "the C program's output differs from the runtime's");
    std::fs::remove_dir_all(&out).ok();
}
