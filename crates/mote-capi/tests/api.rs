//! The C API called as C would: a model runs through it with the same bytes as the Rust
//! runtime; NULLs, corrupt and misaligned buffers, small arenas, bad indices and wrong input
//! lengths give their status and a message, never a crash.

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use mote::*;
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

/// A small model kept in the repository (the fuzz corpus): TFLite Micro's hello-world sine MLP.
const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/mote_load_run/tflm_hello_world_float.mote");

fn load(buf: &AlignedBuf) -> *mut MoteModel {
    let mut m = null_mut();
    let mut err = [0 as std::ffi::c_char; 256];
    let b = buf.as_ref();
    // SAFETY: the buffer outlives the model (freed at the end of each test), `m` and `err` are writable.
    let s = unsafe { mote_model_load(b.as_ptr(), b.len(), &mut m, err.as_mut_ptr(), err.len()) };
    // SAFETY: `err` is NUL-terminated by the API.
    assert_eq!(s, MoteStatus::Ok, "{:?}", unsafe { CStr::from_ptr(err.as_ptr()) });
    m
}

#[test]
fn a_model_runs_through_the_c_api_like_the_rust_runtime() {
    let buf = AlignedBuf::from_bytes(&std::fs::read(MODEL).expect("the corpus model"));
    let m = load(&buf);
    // SAFETY (whole test): `m` is live until freed at the end; the arena and data slices are
    // valid for the lengths passed.
    unsafe {
        assert_eq!(mote_model_input_count(m), 1);
        let mut t = std::mem::zeroed::<MoteTensorInfo>();
        assert_eq!(mote_model_tensor(m, false, 0, &mut t), MoteStatus::Ok);
        assert_eq!(t.dtype, 1, "f32");
        let n = mote_model_arena_size(m);
        let mut arena = AlignedBuf::zeroed(n);
        let a = arena.as_mut();
        let x = 1.25f32.to_le_bytes();
        assert_eq!(mote_set_input(m, a.as_mut_ptr(), a.len(), 0, x.as_ptr(), x.len()), MoteStatus::Ok);
        assert_eq!(mote_invoke(m, a.as_mut_ptr(), a.len()), MoteStatus::Ok);
        let (mut p, mut len) = (null(), 0usize);
        assert_eq!(mote_output(m, a.as_ptr(), a.len(), 0, &mut p, &mut len), MoteStatus::Ok);
        let got = std::slice::from_raw_parts(p, len).to_vec();
        // The Rust runtime on the same input.
        let rt = Runtime::load(buf.as_ref()).unwrap();
        let mut arena2 = AlignedBuf::zeroed(rt.arena_size());
        rt.input_mut(arena2.as_mut(), 0).unwrap().copy_from_slice(&x);
        rt.invoke(arena2.as_mut()).unwrap();
        assert_eq!(got, rt.output(arena2.as_ref(), 0).unwrap());
        let y = f32::from_le_bytes(got[..4].try_into().unwrap());
        assert!((y - 1.25f32.sin()).abs() < 0.2, "sin(1.25) ~ {y}");
        // Errors: a wrong input length, a bad index, a small arena; each with a message.
        let two = [0u8; 2];
        assert_eq!(mote_set_input(m, a.as_mut_ptr(), a.len(), 0, two.as_ptr(), 2), MoteStatus::InputLength);
        assert!(!CStr::from_ptr(mote_model_last_error(m)).to_bytes().is_empty());
        assert_eq!(mote_set_input(m, a.as_mut_ptr(), a.len(), 5, x.as_ptr(), 4), MoteStatus::NoSuchTensor);
        assert_eq!(mote_model_tensor(m, true, 9, &mut t), MoteStatus::NoSuchTensor);
        assert_eq!(mote_invoke(m, a.as_mut_ptr(), a.len() - 1), MoteStatus::Arena);
        assert_eq!(mote_invoke(m, null_mut(), 0), MoteStatus::NullArgument);
        assert_eq!(mote_invoke(null_mut(), a.as_mut_ptr(), a.len()), MoteStatus::NullArgument);
        mote_model_free(m);
        mote_model_free(null_mut());
    }
}

#[test]
fn corrupt_and_misaligned_buffers_are_refused_with_a_message() {
    let bytes = std::fs::read(MODEL).expect("the corpus model");
    let mut bad = bytes.clone();
    bad[8] ^= 0xff;
    let cases = [
        (AlignedBuf::from_bytes(&bad), 0usize),
        (AlignedBuf::from_bytes(&[0u8; 7]), 0),
        (AlignedBuf::from_bytes(&[0u8; 200]), 8),
    ];
    for (buf, shift) in &cases {
        let b = &buf.as_ref()[*shift..];
        let mut m = null_mut();
        let mut err = [0 as std::ffi::c_char; 256];
        // SAFETY: valid buffers and writable outputs.
        let s = unsafe { mote_model_load(b.as_ptr(), b.len(), &mut m, err.as_mut_ptr(), err.len()) };
        assert_eq!(s, MoteStatus::InvalidModel);
        assert!(m.is_null());
        // SAFETY: NUL-terminated by the API.
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy().into_owned();
        assert!(!msg.is_empty());
    }
    // A message truncated to a tiny buffer stays NUL-terminated; NULL outputs are refused.
    let mut tiny = [1 as std::ffi::c_char; 4];
    let mut m = null_mut();
    // SAFETY: as above.
    unsafe {
        assert_eq!(mote_model_load([0u8; 64].as_ptr(), 3, &mut m, tiny.as_mut_ptr(), 4), MoteStatus::InvalidModel);
        assert_eq!(tiny[3], 0);
        assert_eq!(mote_model_load(null(), 0, &mut m, null_mut(), 0), MoteStatus::NullArgument);
        assert!(CStr::from_ptr(mote_status_string(MoteStatus::Arena)).to_str().unwrap().contains("arena"));
    }
}
