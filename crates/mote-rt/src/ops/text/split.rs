//! `StringSplit` (71): `x` (strings), `delimiter?` (u8 `[len >= 1]`: its UTF-8 bytes; omitted:
//! runs of whitespace) -> `y` (strings `[..x, W]`), `z` (i64, x's dims: pieces per string),
//! `count` (i64 `[1]`: the width `w` of the result). Attributes `[maxsplit]` (`u32::MAX`:
//! none).
//!
//! As Python's `str.split` (and onnxruntime): a delimiter splits at every occurrence (at most
//! `maxsplit` times), whitespace splitting drops leading and trailing whitespace and merges
//! runs, and an empty string has no pieces. `w` is the most pieces of any string; `y` is a
//! Bounded output (axis: the last): its first `numel(x) * w` elements are the result `[..x, w]`
//! (strings with fewer pieces padded with ""), and a `w` beyond `W` is a data error.

use mote_core::DType;
use mote_format::StepRef;

use super::{full, set_count, strs, text, want_strings, writer};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, inp, out, want, want_numel};
use crate::words::Words;

/// The `maxsplit` word meaning "no limit".
pub const NO_MAXSPLIT: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
pub struct Split {
    maxsplit: Option<usize>,
    /// The bound `W` of the last axis of `y`.
    bound: usize,
}

/// The pieces of `s`, as the reference interpreter's `split_one`.
fn pieces<'s>(s: &'s str, delim: Option<&'s str>, max: Option<usize>, mut each: impl FnMut(&'s str)) {
    if s.is_empty() {
        return;
    }
    match (delim, max) {
        (Some(d), None) => s.split(d).for_each(each),
        (Some(d), Some(m)) => s.splitn(m.saturating_add(1), d).for_each(each),
        (None, max) => {
            let max = max.unwrap_or(usize::MAX);
            let (mut n, mut rest) = (0usize, s.trim_start());
            while !rest.is_empty() {
                if n == max {
                    each(rest.trim_end());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                each(&rest[..end]);
                n += 1;
                rest = rest[end..].trim_start();
            }
        }
    }
}

impl Split {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Split, StepFault> {
        io.arity(1, 2, 3)?;
        let mut w = Words::new(step);
        let max = w.u32()?;
        w.end()?;
        let (x, y, z, count) = (io.input(0)?, io.output(0)?, io.output(1)?, io.output(2)?);
        want_strings(&x)?;
        want_strings(&y)?;
        if let Some(d) = io.opt(1) {
            want(&d, DType::U8)?;
            if d.numel() == 0 {
                return Err(StepFault::Shape);
            }
        }
        want(&z, DType::I64)?;
        want(&count, DType::I64)?;
        want_numel(&count, 1)?;
        if y.rank != x.rank + 1 || z.rank != x.rank || x.dims() != &y.dims()[..x.rank] || x.dims() != z.dims() {
            return Err(StepFault::Shape);
        }
        let bound = y.dims()[x.rank] as usize;
        Ok(Split { maxsplit: (max != NO_MAXSPLIT).then_some(max as usize), bound })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (x, y, z, count) = (strs(mem, &io.input(0)?)?, io.output(0)?, io.output(1)?, io.output(2)?);
        let delim = match io.opt(1) {
            Some(d) => Some(core::str::from_utf8(inp::<u8>(mem, &d)).map_err(|_| super::NOT_UTF8)?),
            None => None,
        };
        // First pass: the pieces per string, and the width.
        let counts = out::<i64>(mem, &z);
        let mut width = 0;
        for (i, c) in counts.iter_mut().enumerate() {
            let mut n = 0usize;
            pieces(text(&x, i)?, delim, self.maxsplit, |_| n += 1);
            *c = n as i64;
            width = width.max(n);
        }
        if width > self.bound {
            return Err(RunFault::Data(
                "StringSplit: a string has more pieces than the compiled bound of the output's last axis",
            ));
        }
        // Second pass: the pieces, row-major in `[..x, width]`.
        let mut w = writer(mem, &y)?;
        let mut fault = None;
        for i in 0..x.len() {
            let mut j = 0;
            pieces(text(&x, i)?, delim, self.maxsplit, |p| {
                if fault.is_none() {
                    fault = w.set(i * width + j, p.as_bytes()).err();
                }
                j += 1;
            });
            for k in j..width {
                w.finish(i * width + k);
            }
        }
        if fault.is_some() {
            return Err(full(0)(mote_format::strings::PoolFull));
        }
        set_count(mem, &count, width);
        Ok(())
    }
}

/// StringSplit's attribute words.
#[cfg(feature = "alloc")]
pub fn encode_split(maxsplit: Option<usize>) -> alloc::vec::Vec<u32> {
    let m = maxsplit.map_or(NO_MAXSPLIT, |m| u32::try_from(m).unwrap_or(NO_MAXSPLIT - 1).min(NO_MAXSPLIT - 1));
    alloc::vec![m]
}
