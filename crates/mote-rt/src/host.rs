//! The `std` layer: loading `.mote` files (memory-mapped, or read into an aligned buffer), an
//! aligned arena, and per-step timing for the profiler (the thread pool is in [`pool`](crate::pool)).

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};
use std::vec::Vec;

use crate::Parallel;
use crate::error::RtError;
use crate::exec::{ARENA_ALIGN, Event, Runtime};

/// A zeroed, 64-byte aligned byte buffer (arenas, and files read into memory). Allocated with
/// `calloc` (a zeroed `Vec`), so a large buffer is lazily mapped zero pages: allocating a big
/// arena costs nothing until it is touched.
pub struct AlignedBuf {
    bytes: Vec<u8>,
    off: usize,
    len: usize,
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

impl AlignedBuf {
    pub fn zeroed(len: usize) -> AlignedBuf {
        let bytes = std::vec![0u8; len + ARENA_ALIGN];
        // The heap block does not move when the Vec does, so the offset stays valid.
        let off = bytes.as_ptr().align_offset(ARENA_ALIGN);
        AlignedBuf { bytes, off, len }
    }

    pub fn from_bytes(bytes: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::zeroed(bytes.len());
        b.as_mut().copy_from_slice(bytes);
        b
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[self.off..self.off + self.len]
    }
}

impl AsMut<[u8]> for AlignedBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.off..self.off + self.len]
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

/// Time spent in each step over one invocation, the steps split into tasks on `par` (a
/// [`ThreadPool`](crate::pool::ThreadPool), or [`Sequential`](crate::Sequential)).
pub fn time_steps(rt: &Runtime<'_>, arena: &mut [u8], par: &dyn Parallel) -> Result<Vec<Duration>, RtError> {
    let mut times = std::vec![Duration::ZERO; rt.model().step_count()];
    let mut start = Instant::now();
    rt.invoke_with(arena, par, &mut |e| match e {
        Event::Begin(_) => start = Instant::now(),
        Event::End(i) => times[i as usize] += start.elapsed(),
    })?;
    Ok(times)
}
