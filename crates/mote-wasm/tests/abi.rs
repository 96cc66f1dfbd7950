//! The ABI as web/mote.js calls it, on the host: a model runs with the same bytes as the Rust
//! runtime; corrupt files, bad indices, wrong input lengths and NULLs give their status and a
//! message, never a crash.

use std::ptr::null_mut;

use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;
use mote_wasm::*;

/// A small model kept in the repository (the fuzz corpus): TFLite Micro's hello-world sine MLP.
const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/mote_load_run/tflm_hello_world_float.mote");

/// Copies `bytes` into a buffer from `mote_wasm_alloc` and loads it: the status, the model and
/// the error text.
fn load(bytes: &[u8]) -> (Status, *mut Model, String) {
    let p = mote_wasm_alloc(bytes.len(), 64);
    assert!(!p.is_null());
    let (mut m, mut err, mut n) = (null_mut(), [0u8; 300], 0usize);
    // SAFETY: `p` holds `bytes.len()` bytes from `mote_wasm_alloc(_, 64)`, handed over to load;
    // the out-parameters are writable.
    let s = unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        mote_wasm_load(p, bytes.len(), &mut m, err.as_mut_ptr(), err.len(), &mut n)
    };
    (s, m, String::from_utf8(err[..n].to_vec()).unwrap())
}

/// The model's last error text.
///
/// # Safety
/// `m` is a live model.
unsafe fn last_error(m: *mut Model) -> String {
    // SAFETY: caller; the pointer holds `mote_wasm_last_error_len` bytes.
    let b = unsafe { std::slice::from_raw_parts(mote_wasm_last_error(m), mote_wasm_last_error_len(m)) };
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn a_model_runs_through_the_abi_like_the_rust_runtime() {
    let bytes = std::fs::read(MODEL).expect("the corpus model");
    let (s, m, err) = load(&bytes);
    assert_eq!(s, Status::Ok, "{err}");
    // SAFETY (whole block): `m` is live until freed at the end; pointers returned by the ABI
    // are read within the lengths it gives.
    unsafe {
        assert_eq!((mote_wasm_count(m, 0), mote_wasm_count(m, 1)), (1, 1));
        let mut t = std::mem::zeroed::<TensorInfo>();
        assert_eq!(mote_wasm_tensor(m, 0, 0, &mut t), Status::Ok);
        assert_eq!((t.dtype, t.nbytes), (1, 4), "one f32");
        let name = std::slice::from_raw_parts(t.name, t.name_len as usize);
        let rt =
            Runtime::load(AlignedBuf::from_bytes(&bytes).as_ref()).unwrap().inputs().next().unwrap().name.to_owned();
        assert_eq!(name, rt.as_bytes());
        let x = 1.25f32.to_le_bytes();
        let dst = mote_wasm_input(m, 0, 4);
        assert!(!dst.is_null(), "{}", last_error(m));
        std::ptr::copy_nonoverlapping(x.as_ptr(), dst, 4);
        assert_eq!(mote_wasm_invoke(m), Status::Ok);
        let out = mote_wasm_output(m, 0);
        assert!(!out.is_null());
        let got = std::slice::from_raw_parts(out, 4).to_vec();
        // The Rust runtime on the same input.
        let buf = AlignedBuf::from_bytes(&bytes);
        let rt = Runtime::load(buf.as_ref()).unwrap();
        let mut arena = AlignedBuf::zeroed(rt.arena_size());
        rt.input_mut(arena.as_mut(), 0).unwrap().copy_from_slice(&x);
        rt.invoke(arena.as_mut()).unwrap();
        assert_eq!(got, rt.output(arena.as_ref(), 0).unwrap());
        assert_eq!(mote_wasm_arena_size(m), rt.arena_size());
        let mut n = 0;
        let isa = mote_wasm_isa(m, &mut n);
        assert_eq!(std::slice::from_raw_parts(isa, n), rt.cpu().isa().name().as_bytes());
        // Errors, each with a message.
        assert!(mote_wasm_input(m, 0, 8).is_null());
        assert!(last_error(m).contains("expected 4 bytes, got 8"), "{}", last_error(m));
        assert!(mote_wasm_input(m, 3, 4).is_null());
        assert!(mote_wasm_output(m, 3).is_null());
        assert_eq!(mote_wasm_tensor(m, 1, 9, &mut t), Status::NoSuchTensor);
        assert!(!last_error(m).is_empty());
        assert_eq!(mote_wasm_tensor(m, 1, 0, null_mut()), Status::NullArgument);
        assert_eq!(mote_wasm_invoke(null_mut()), Status::NullArgument);
        assert!(mote_wasm_isa(m, null_mut()).is_null());
        assert_eq!((mote_wasm_count(null_mut(), 0), mote_wasm_arena_size(null_mut())), (0, 0));
        mote_wasm_model_free(m);
        mote_wasm_model_free(null_mut());
    }
}

#[test]
fn corrupt_and_truncated_files_are_refused_with_a_message() {
    let bytes = std::fs::read(MODEL).expect("the corpus model");
    let mut bad = bytes.clone();
    bad[0] ^= 0xff;
    let (s, m, err) = load(&bad);
    assert_eq!((s, m.is_null()), (Status::InvalidModel, true));
    assert!(err.contains("magic"), "{err}");
    let (s, _, err) = load(&bytes[..bytes.len() / 2]);
    assert_eq!(s, Status::InvalidModel);
    assert!(!err.is_empty());
    // NULL data or out-parameters; the buffer is still taken (and freed).
    let (mut m, mut n) = (null_mut(), 0usize);
    // SAFETY: NULLs are allowed and refused; `p` is a fresh allocation handed over.
    unsafe {
        assert_eq!(mote_wasm_load(null_mut(), 8, &mut m, null_mut(), 0, &mut n), Status::NullArgument);
        let p = mote_wasm_alloc(8, 64);
        assert_eq!(mote_wasm_load(p, 8, null_mut(), null_mut(), 0, &mut n), Status::NullArgument);
    }
}

#[test]
fn alloc_refuses_zero_sizes_and_bad_alignments() {
    assert!(mote_wasm_alloc(0, 64).is_null());
    assert!(mote_wasm_alloc(16, 3).is_null());
    let p = mote_wasm_alloc(16, 64);
    assert!(!p.is_null() && (p as usize).is_multiple_of(64));
    // SAFETY: `p` came from `mote_wasm_alloc(16, 64)`; NULL is ignored.
    unsafe {
        assert!(std::slice::from_raw_parts(p, 16).iter().all(|&b| b == 0));
        mote_wasm_free(p, 16, 64);
        mote_wasm_free(null_mut(), 16, 64);
    }
}
