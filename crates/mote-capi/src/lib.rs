//! The C API of the Mote runtime (`include/mote.h`, generated from this file by cbindgen).
//!
//! A model is loaded from the caller's buffer without copying: the buffer must start at a
//! 64-byte aligned address and stay valid and unchanged until `mote_model_free`, so a model in
//! flash or in a memory-mapped file is used in place. Inference runs in the caller's arena
//! (`mote_model_arena_size` bytes, `MOTE_ARENA_ALIGN`-aligned): one static buffer on a board,
//! no allocation while running. Every function returns a [`MoteStatus`]; the message of a
//! model's last failure is `mote_model_last_error`. A panic never crosses the boundary: it
//! becomes `MOTE_STATUS_INTERNAL`.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use mote_rt::{RtError, Runtime};

/// The alignment of the model buffer and of the arena.
pub const MOTE_ARENA_ALIGN: usize = 64;
/// The largest rank of a tensor.
pub const MOTE_MAX_RANK: usize = 8;

const _: () = assert!(MOTE_MAX_RANK == mote_core::MAX_RANK && MOTE_ARENA_ALIGN == mote_rt::ARENA_ALIGN);

/// What a call did.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoteStatus {
    /// Success.
    Ok = 0,
    /// A pointer argument was NULL.
    NullArgument = 1,
    /// The buffer is not a valid `.mote` file for this runtime, or not 64-byte aligned.
    InvalidModel = 2,
    /// The arena is smaller than `mote_model_arena_size` or not `MOTE_ARENA_ALIGN`-aligned.
    Arena = 3,
    /// An input or output index past the model's.
    NoSuchTensor = 4,
    /// Input data of another byte length than the input's.
    InputLength = 5,
    /// A check on the data failed while running (e.g. an index out of range); the outputs
    /// are not valid.
    Run = 6,
    /// A bug in Mote (a panic was caught); please report it with the model.
    Internal = 7,
}

/// A loaded model (opaque).
#[derive(Debug)]
pub struct MoteModel {
    rt: Runtime<'static>,
    inputs: Vec<CString>,
    outputs: Vec<CString>,
    last_error: CString,
}

/// An input or output: name, element type, shape and size.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MoteTensorInfo {
    /// NUL-terminated, valid while the model is.
    pub name: *const c_char,
    /// The element type's code: 1 f32, 2 u8, 3 i8, 4 u16, 5 i16, 6 i32, 7 i64, 9 bool, 10 f16,
    /// 11 f64, 12 u32, 13 u64, 16 bf16 (`docs/FORMAT.md`).
    pub dtype: u32,
    pub rank: u32,
    /// `dims[0..rank]`.
    pub dims: [u32; MOTE_MAX_RANK],
    /// Bytes of the tensor's data.
    pub nbytes: usize,
}

/// The statuses by number: the runtime decides an error's status ([`RtError::status`]); this
/// only names the number, and the assertion below keeps index and value equal.
const BY_NUMBER: [MoteStatus; 8] = [
    MoteStatus::Ok,
    MoteStatus::NullArgument,
    MoteStatus::InvalidModel,
    MoteStatus::Arena,
    MoteStatus::NoSuchTensor,
    MoteStatus::InputLength,
    MoteStatus::Run,
    MoteStatus::Internal,
];

const _: () = {
    let mut i = 0;
    while i < BY_NUMBER.len() {
        assert!(BY_NUMBER[i] as usize == i);
        i += 1;
    }
};

fn status_of(e: &RtError) -> MoteStatus {
    BY_NUMBER.get(e.status() as usize).copied().unwrap_or(MoteStatus::Internal)
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).expect("no NUL left")
}

/// Writes `msg` into the caller's `err` buffer of `len` bytes (truncated, NUL-terminated).
///
/// # Safety
/// `err` is NULL or points to `len` writable bytes.
unsafe fn write_message(err: *mut c_char, len: usize, msg: &str) {
    if err.is_null() || len == 0 {
        return;
    }
    let n = msg.len().min(len - 1);
    // SAFETY: the caller gives `len` writable bytes at `err`; `n + 1 <= len`.
    unsafe {
        core::ptr::copy_nonoverlapping(msg.as_ptr(), err.cast::<u8>(), n);
        *err.add(n) = 0;
    }
}

/// Runs `f` on the model, recording a failure's message; a panic becomes `Internal`.
fn with_model(m: *mut MoteModel, f: impl FnOnce(&mut MoteModel) -> Result<(), RtError>) -> MoteStatus {
    // SAFETY: a non-NULL `m` came from `mote_model_load` and was not freed (the API contract).
    let Some(model) = (unsafe { m.as_mut() }) else {
        return MoteStatus::NullArgument;
    };
    match catch_unwind(AssertUnwindSafe(|| f(model))) {
        Ok(Ok(())) => MoteStatus::Ok,
        Ok(Err(e)) => {
            model.last_error = cstring(&e.to_string());
            status_of(&e)
        }
        Err(_) => {
            model.last_error = cstring("internal error (a panic in the runtime); please report it with the model");
            MoteStatus::Internal
        }
    }
}

/// Loads and validates the `.mote` file in `data[0..len]` without copying it; on success
/// `*out` is the model. `data` must be 64-byte aligned and stay valid and unchanged until
/// `mote_model_free`. On failure a message is written to `err` (`err_len` bytes, may be NULL).
///
/// # Safety
/// `data` points to `len` readable bytes that outlive the model; `out` is writable; `err` is
/// NULL or points to `err_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_load(
    data: *const u8,
    len: usize,
    out: *mut *mut MoteModel,
    err: *mut c_char,
    err_len: usize,
) -> MoteStatus {
    if data.is_null() || out.is_null() {
        // SAFETY: caller (err).
        unsafe { write_message(err, err_len, "a NULL argument") };
        return MoteStatus::NullArgument;
    }
    // SAFETY: the caller keeps `len` bytes at `data` valid and unchanged until the model is
    // freed, which is what the 'static borrow inside the model stands for.
    let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(data, len) };
    let loaded = catch_unwind(|| {
        Runtime::load(bytes).map(|rt| {
            let inputs = rt.inputs().map(|t| cstring(t.name)).collect();
            let outputs = rt.outputs().map(|t| cstring(t.name)).collect();
            MoteModel { rt, inputs, outputs, last_error: CString::default() }
        })
    });
    let (status, msg) = match loaded {
        Ok(Ok(m)) => {
            // SAFETY: `out` is writable (checked non-NULL; caller).
            unsafe { *out = Box::into_raw(Box::new(m)) };
            return MoteStatus::Ok;
        }
        Ok(Err(e)) => (status_of(&e), e.to_string()),
        Err(_) => (MoteStatus::Internal, "internal error (a panic while loading); please report it".into()),
    };
    // SAFETY: caller (err).
    unsafe { write_message(err, err_len, &msg) };
    status
}

/// Frees a model (NULL is ignored). Its buffer may be released afterwards.
///
/// # Safety
/// `m` is NULL or a model from `mote_model_load` not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_free(m: *mut MoteModel) {
    if !m.is_null() {
        // SAFETY: `m` came from `Box::into_raw` in `mote_model_load` (caller).
        drop(unsafe { Box::from_raw(m) });
    }
}

/// The arena's size in bytes (0 for NULL).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_arena_size(m: *const MoteModel) -> usize {
    // SAFETY: caller.
    unsafe { m.as_ref() }.map_or(0, |m| m.rt.arena_size())
}

/// The number of inputs (0 for NULL).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_input_count(m: *const MoteModel) -> usize {
    // SAFETY: caller.
    unsafe { m.as_ref() }.map_or(0, |m| m.inputs.len())
}

/// The number of outputs (0 for NULL).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_output_count(m: *const MoteModel) -> usize {
    // SAFETY: caller.
    unsafe { m.as_ref() }.map_or(0, |m| m.outputs.len())
}

fn info(t: mote_rt::TensorInfo<'_>, name: &CString) -> MoteTensorInfo {
    let d = t.dims();
    let mut dims = [0u32; MOTE_MAX_RANK];
    dims[..d.len()].copy_from_slice(d);
    MoteTensorInfo { name: name.as_ptr(), dtype: t.dtype as u32, rank: d.len() as u32, dims, nbytes: t.nbytes() }
}

/// Describes input `i` (`output` false) or output `i` (`output` true) in `*out`.
///
/// # Safety
/// `m` is NULL or a live model; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_tensor(
    m: *mut MoteModel,
    output: bool,
    i: usize,
    out: *mut MoteTensorInfo,
) -> MoteStatus {
    if out.is_null() {
        return MoteStatus::NullArgument;
    }
    with_model(m, |m| {
        let no = RtError::NoSuchIo { index: i as u32 };
        let (t, name) = if output {
            (m.rt.outputs().nth(i).ok_or(no)?, &m.outputs[i])
        } else {
            (m.rt.inputs().nth(i).ok_or(no)?, &m.inputs[i])
        };
        // SAFETY: `out` is writable (checked non-NULL; caller).
        unsafe { *out = info(t, name) };
        Ok(())
    })
}

/// The arena as a slice, or the status for a NULL one.
///
/// # Safety
/// `arena` is NULL or points to `len` writable bytes not used elsewhere during the call.
unsafe fn arena_slice<'r>(arena: *mut u8, len: usize) -> Option<&'r mut [u8]> {
    // SAFETY: caller.
    (!arena.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(arena, len) })
}

/// Copies `data[0..len]` into input `i` in the arena (`len` must be the input's `nbytes`).
///
/// # Safety
/// `m` is NULL or a live model; `arena` points to `arena_len` writable bytes; `data` to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_set_input(
    m: *mut MoteModel,
    arena: *mut u8,
    arena_len: usize,
    i: usize,
    data: *const u8,
    len: usize,
) -> MoteStatus {
    // SAFETY: caller (arena).
    let Some(arena) = (unsafe { arena_slice(arena, arena_len) }) else { return MoteStatus::NullArgument };
    if data.is_null() {
        return MoteStatus::NullArgument;
    }
    // SAFETY: caller (data).
    let data = unsafe { std::slice::from_raw_parts(data, len) };
    with_model(m, |m| {
        let dst = m.rt.input_mut(arena, i)?;
        if dst.len() != data.len() {
            return Err(RtError::InputLength { index: i as u32, expected: dst.len() as u64, got: data.len() as u64 });
        }
        dst.copy_from_slice(data);
        Ok(())
    })
}

/// Runs the model in the arena (its inputs set); no allocation.
///
/// # Safety
/// `m` is NULL or a live model; `arena` points to `arena_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_invoke(m: *mut MoteModel, arena: *mut u8, arena_len: usize) -> MoteStatus {
    // SAFETY: caller (arena).
    let Some(arena) = (unsafe { arena_slice(arena, arena_len) }) else { return MoteStatus::NullArgument };
    with_model(m, |m| m.rt.invoke(arena))
}

/// Points `*data` and `*len` at output `i`'s bytes (in the arena, or in the model for a constant
/// output), valid until the arena or the model changes.
///
/// # Safety
/// `m` is NULL or a live model; `arena` points to `arena_len` readable bytes; `data` and `len`
/// are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_output(
    m: *mut MoteModel,
    arena: *const u8,
    arena_len: usize,
    i: usize,
    data: *mut *const u8,
    len: *mut usize,
) -> MoteStatus {
    if arena.is_null() || data.is_null() || len.is_null() {
        return MoteStatus::NullArgument;
    }
    // SAFETY: caller (arena).
    let arena = unsafe { std::slice::from_raw_parts(arena, arena_len) };
    with_model(m, |m| {
        let out = m.rt.output(arena, i)?;
        // SAFETY: `data` and `len` are writable (checked non-NULL; caller).
        unsafe {
            *data = out.as_ptr();
            *len = out.len();
        }
        Ok(())
    })
}

/// The message of the model's last failure ("" if none; NULL model: "").
///
/// # Safety
/// `m` is NULL or a live model. The string is valid until the model's next call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_last_error(m: *const MoteModel) -> *const c_char {
    // SAFETY: caller.
    unsafe { m.as_ref() }.map_or(c"".as_ptr(), |m| m.last_error.as_ptr())
}

/// A short description of a status (a static string).
#[unsafe(no_mangle)]
pub extern "C" fn mote_status_string(s: MoteStatus) -> *const c_char {
    match s {
        MoteStatus::Ok => c"ok",
        MoteStatus::NullArgument => c"a NULL argument",
        MoteStatus::InvalidModel => c"not a valid .mote file for this runtime (or not 64-byte aligned)",
        MoteStatus::Arena => c"the arena is too small or not 64-byte aligned",
        MoteStatus::NoSuchTensor => c"no such input or output",
        MoteStatus::InputLength => c"input data of the wrong length",
        MoteStatus::Run => c"a check on the data failed while running",
        MoteStatus::Internal => c"internal error",
    }
    .as_ptr()
}
