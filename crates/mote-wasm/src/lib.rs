//! The Mote runtime for the browser: a small C-like ABI over `mote-rt`, compiled to
//! `wasm32-unknown-unknown` with the simd128 kernels (`scripts/build-wasm.sh`) and wrapped by
//! `web/mote.js` (docs/BROWSER.md).
//!
//! The caller allocates a buffer in the module's memory with `mote_wasm_alloc(len, 64)`, copies
//! the `.mote` file into it and hands it to `mote_wasm_load`, which owns it from then on (the
//! model is used in place, never copied) and allocates the arena. Inputs are written in place
//! in the arena (`mote_wasm_input`), `mote_wasm_invoke` runs the model, outputs are read in
//! place (`mote_wasm_output`). Every call that can fail returns a [`Status`]; the model's last
//! message is `mote_wasm_last_error`. On other targets this is a plain library, for its tests.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod buf;
mod msg;

use alloc::boxed::Box;

use mote_rt::{ARENA_ALIGN, RtError, Runtime};

pub use buf::Buf;
pub use msg::Msg;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A panic is a bug (the runtime returns errors): it traps, and JS sees a `RuntimeError`.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// What a call did (the numbers are the ABI; `web/mote.js` names them).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    /// A NULL pointer argument.
    NullArgument = 1,
    /// Not a valid `.mote` file for this runtime.
    InvalidModel = 2,
    /// The allocator could not give the model's arena or a buffer.
    OutOfMemory = 3,
    /// An input or output index past the model's.
    NoSuchTensor = 4,
    /// Input data of another byte length than the input's.
    InputLength = 5,
    /// A check on the data failed while running; the outputs are not valid.
    Run = 6,
}

/// The runtime's status ([`RtError::status`], the C API's numbers): the same numbers here,
/// except that this module sizes the arena itself, so an arena error is a failed run.
fn status_of(e: &RtError) -> Status {
    match e.status() {
        2 => Status::InvalidModel,
        4 => Status::NoSuchTensor,
        5 => Status::InputLength,
        _ => Status::Run,
    }
}

/// A loaded model with its arena (opaque to JS).
#[derive(Debug)]
pub struct Model {
    // Declared before `_bytes`, which it borrows: dropped first.
    rt: Runtime<'static>,
    arena: Buf,
    // The file the runtime reads in place: owned here, never read directly.
    _bytes: Buf,
    error: Msg,
}

impl Model {
    fn fail(&mut self, e: RtError) -> Status {
        self.error.set(&e);
        status_of(&e)
    }
}

/// An input or output, as `mote_wasm_tensor` writes it (52 bytes on wasm32: the name's
/// address and length, then u32 fields).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TensorInfo {
    /// UTF-8, not NUL-terminated, inside the model's bytes.
    pub name: *const u8,
    pub name_len: u32,
    /// The element type's code (1 f32, 2 u8, 3 i8, 6 i32, 7 i64, ...; docs/FORMAT.md).
    pub dtype: u32,
    pub rank: u32,
    /// `dims[0..rank]`.
    pub dims: [u32; mote_core::MAX_RANK],
    pub nbytes: u32,
}

/// Allocates `size` zeroed bytes aligned to `align` (a power of two); NULL when out of memory
/// or for a zero size.
#[unsafe(no_mangle)]
pub extern "C" fn mote_wasm_alloc(size: usize, align: usize) -> *mut u8 {
    Buf::zeroed(size, align).map_or(core::ptr::null_mut(), Buf::into_raw)
}

/// Frees what `mote_wasm_alloc(size, align)` returned (NULL is ignored).
///
/// # Safety
/// `ptr` is NULL or came from `mote_wasm_alloc` with this `size` and `align`, not freed or
/// given to `mote_wasm_load` before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_free(ptr: *mut u8, size: usize, align: usize) {
    // SAFETY: caller.
    drop(unsafe { Buf::from_raw(ptr, size, align) });
}

/// Loads and validates the `.mote` file in `data[0..len]`, which must come from
/// `mote_wasm_alloc(len, 64)`: the model takes ownership of it (it is freed on failure too).
/// On success `*out` is the model; otherwise a message goes to `err[0..err_len]` and its
/// length to `*err_written`.
///
/// # Safety
/// `data` as above; `out` and `err_written` are writable; `err` is NULL or points to `err_len`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_load(
    data: *mut u8,
    len: usize,
    out: *mut *mut Model,
    err: *mut u8,
    err_len: usize,
    err_written: *mut usize,
) -> Status {
    // SAFETY: caller (`data` is an allocation of `len` bytes at 64, now ours).
    let bytes = unsafe { Buf::from_raw(data, len, ARENA_ALIGN) };
    let (Some(bytes), false, false) = (bytes, out.is_null(), err_written.is_null()) else {
        return Status::NullArgument;
    };
    // SAFETY: `bytes` lives in the returned `Model` next to the runtime borrowing it, on the
    // heap (moving the `Buf` does not move them), and is freed only after the runtime.
    let view: &'static [u8] = unsafe { core::slice::from_raw_parts(bytes.as_slice().as_ptr(), len) };
    let mut msg = Msg::new();
    let status = match Runtime::load(view) {
        Ok(rt) => match Buf::zeroed(rt.arena_size().max(1), ARENA_ALIGN) {
            Some(arena) => {
                let m = Box::new(Model { rt, arena, _bytes: bytes, error: Msg::new() });
                // SAFETY: `out` is writable (checked non-NULL; caller).
                unsafe { *out = Box::into_raw(m) };
                return Status::Ok;
            }
            None => {
                msg.set(&format_args!("out of memory for the arena of {} bytes", rt.arena_size()));
                Status::OutOfMemory
            }
        },
        Err(e) => {
            msg.set(&e);
            status_of(&e)
        }
    };
    let n = if err.is_null() { 0 } else { msg.as_bytes().len().min(err_len) };
    // SAFETY: `err` has `err_len >= n` writable bytes and `err_written` is writable (caller).
    unsafe {
        core::ptr::copy_nonoverlapping(msg.as_bytes().as_ptr(), err, n);
        *err_written = n;
    }
    status
}

/// Frees a model, its file's bytes and its arena (NULL is ignored).
///
/// # Safety
/// `m` is NULL or a model from `mote_wasm_load` not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_model_free(m: *mut Model) {
    if !m.is_null() {
        // SAFETY: `m` came from `Box::into_raw` in `mote_wasm_load` (caller).
        drop(unsafe { Box::from_raw(m) });
    }
}

/// The model as a reference, or `None` for NULL.
///
/// # Safety
/// `m` is NULL or a live model not used elsewhere during the call.
unsafe fn model<'m>(m: *mut Model) -> Option<&'m mut Model> {
    // SAFETY: caller.
    unsafe { m.as_mut() }
}

/// Bytes of the model's arena (0 for NULL).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_arena_size(m: *mut Model) -> usize {
    // SAFETY: caller.
    unsafe { model(m) }.map_or(0, |m| m.rt.arena_size())
}

/// The number of outputs (`output` non-zero) or inputs (0 for NULL).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_count(m: *mut Model, output: u32) -> usize {
    // SAFETY: caller.
    unsafe { model(m) }.map_or(0, |m| if output != 0 { m.rt.outputs().count() } else { m.rt.inputs().count() })
}

/// Describes output `i` (`output` non-zero) or input `i` in `*out`.
///
/// # Safety
/// `m` is NULL or a live model; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_tensor(m: *mut Model, output: u32, i: usize, out: *mut TensorInfo) -> Status {
    // SAFETY: caller.
    let (Some(m), false) = (unsafe { model(m) }, out.is_null()) else { return Status::NullArgument };
    let t = if output != 0 { m.rt.outputs().nth(i) } else { m.rt.inputs().nth(i) };
    let Some(t) = t else { return m.fail(RtError::NoSuchIo { index: i as u32 }) };
    let d = t.dims();
    let mut dims = [0u32; mote_core::MAX_RANK];
    dims[..d.len()].copy_from_slice(d);
    let info = TensorInfo {
        name: t.name.as_ptr(),
        name_len: t.name.len() as u32,
        dtype: t.dtype as u32,
        rank: d.len() as u32,
        dims,
        nbytes: t.nbytes() as u32,
    };
    // SAFETY: `out` is writable (checked non-NULL; caller).
    unsafe { *out = info };
    Status::Ok
}

/// Where to write input `i`'s `len` bytes in the arena before `mote_wasm_invoke`; NULL (with
/// the message set) for a bad index or a `len` other than the input's size.
///
/// # Safety
/// `m` is NULL or a live model. The pointer is valid until the model is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_input(m: *mut Model, i: usize, len: usize) -> *mut u8 {
    // SAFETY: caller.
    let Some(m) = (unsafe { model(m) }) else { return core::ptr::null_mut() };
    match m.rt.input_mut(m.arena.as_mut_slice(), i) {
        Ok(dst) if dst.len() == len => dst.as_mut_ptr(),
        Ok(dst) => {
            let expected = dst.len() as u64;
            m.fail(RtError::InputLength { index: i as u32, expected, got: len as u64 });
            core::ptr::null_mut()
        }
        Err(e) => {
            m.fail(e);
            core::ptr::null_mut()
        }
    }
}

/// Runs the model on the inputs in its arena (no allocation).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_invoke(m: *mut Model) -> Status {
    // SAFETY: caller.
    let Some(m) = (unsafe { model(m) }) else { return Status::NullArgument };
    match m.rt.invoke(m.arena.as_mut_slice()) {
        Ok(()) => Status::Ok,
        Err(e) => m.fail(e),
    }
}

/// Output `i`'s bytes (its `nbytes` from `mote_wasm_tensor`) after `mote_wasm_invoke`; NULL
/// (with the message set) for a bad index.
///
/// # Safety
/// `m` is NULL or a live model. The pointer is valid until the next invoke or free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_output(m: *mut Model, i: usize) -> *const u8 {
    // SAFETY: caller.
    let Some(m) = (unsafe { model(m) }) else { return core::ptr::null() };
    match m.rt.output(m.arena.as_slice(), i) {
        Ok(out) => out.as_ptr(),
        Err(e) => {
            m.fail(e);
            core::ptr::null()
        }
    }
}

/// The model's last failure message (UTF-8, `mote_wasm_last_error_len` bytes; empty if none).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_last_error(m: *mut Model) -> *const u8 {
    // SAFETY: caller.
    unsafe { model(m) }.map_or(core::ptr::null(), |m| m.error.as_bytes().as_ptr())
}

/// The length of `mote_wasm_last_error` (0 for NULL).
///
/// # Safety
/// `m` is NULL or a live model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_last_error_len(m: *mut Model) -> usize {
    // SAFETY: caller.
    unsafe { model(m) }.map_or(0, |m| m.error.as_bytes().len())
}

/// The name of the instruction set the model's kernels use (`simd128` in the browser build,
/// `scalar` without it), ASCII; its length goes to `*len`. NULL for a NULL argument.
///
/// # Safety
/// `m` is NULL or a live model; `len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_wasm_isa(m: *mut Model, len: *mut usize) -> *const u8 {
    // SAFETY: caller.
    let (Some(m), false) = (unsafe { model(m) }, len.is_null()) else { return core::ptr::null() };
    let name = m.rt.cpu().isa().name();
    // SAFETY: `len` is writable (checked non-NULL; caller).
    unsafe { *len = name.len() };
    name.as_ptr()
}
