//! The `std` layer: loading `.mote` files (memory-mapped, or read into an aligned buffer), an
//! aligned arena, and per-step timing for the profiler.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};
use std::vec::Vec;

use crate::error::RtError;
use crate::exec::{ARENA_ALIGN, Event, Runtime};

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; ARENA_ALIGN]);

/// A zeroed, 64-byte aligned byte buffer (arenas, and files read into memory).
pub struct AlignedBuf {
    lines: Vec<Line>,
    len: usize,
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

impl AlignedBuf {
    pub fn zeroed(len: usize) -> AlignedBuf {
        AlignedBuf { lines: std::vec![Line([0; ARENA_ALIGN]); len.div_ceil(ARENA_ALIGN)], len }
    }

    pub fn from_bytes(bytes: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::zeroed(bytes.len());
        b.as_mut().copy_from_slice(bytes);
        b
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `lines` is contiguous plain bytes of at least `len` bytes.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const u8, self.len) }
    }
}

impl AsMut<[u8]> for AlignedBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_ref`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut u8, self.len) }
    }
}

/// A `.mote` file's bytes: memory-mapped (page aligned) or read into an aligned buffer.
#[derive(Debug)]
pub enum ModelBytes {
    Mapped(memmap2::Mmap),
    Owned(AlignedBuf),
}

impl AsRef<[u8]> for ModelBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            ModelBytes::Mapped(m) => m,
            ModelBytes::Owned(b) => b.as_ref(),
        }
    }
}

impl ModelBytes {
    /// Maps the file (falls back to reading it when mapping fails, e.g. on an empty file).
    pub fn open(path: &Path) -> std::io::Result<ModelBytes> {
        let f = File::open(path)?;
        // SAFETY: the map is read-only; the file must not be truncated while mapped, as for
        // every mmap user (the runtime validated lengths at load from the mapped bytes).
        match unsafe { memmap2::Mmap::map(&f) } {
            Ok(m) => Ok(ModelBytes::Mapped(m)),
            Err(_) => Ok(ModelBytes::Owned(AlignedBuf::from_bytes(&std::fs::read(path)?))),
        }
    }
}

/// Time spent in each step over one invocation.
pub fn time_steps(rt: &Runtime<'_>, arena: &mut [u8]) -> Result<Vec<Duration>, RtError> {
    let mut times = std::vec![Duration::ZERO; rt.model().step_count()];
    let mut start = Instant::now();
    rt.invoke_observed(arena, &mut |e| match e {
        Event::Begin(_) => start = Instant::now(),
        Event::End(i) => times[i as usize] += start.elapsed(),
    })?;
    Ok(times)
}
