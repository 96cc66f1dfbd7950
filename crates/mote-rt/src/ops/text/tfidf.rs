//! `TfIdfVectorizer` (74): `x` (i32, i64 or strings; `[rows, cols]`, `[cols]` or `[]`),
//! `pool` (i64 for integer `x`, strings for string `x`; `[P]`), `grams` (u32 `[G, 3]`),
//! `weights?` (f32 `[out]`) -> `y` (f32 `[rows, out]`, or `[out]` for one row). Attributes
//! `[mode (0 TF, 1 IDF, 2 TFIDF), min_n, max_n, max_skip, rows, cols, out]`.
//!
//! Each `grams` row `(n, start, column)` is the n-gram `pool[start .. start + n]` counted into
//! `column`; rows are sorted by `n`, then by their tokens (integers by value, strings by
//! bytes), each n-gram once, so a lookup is a binary search. Counting follows the reference
//! interpreter: for every skip `1 ..= max_skip + 1` (fewer than `cols`), start position and
//! length `n` up to `max_n` (at least `min_n`; unigrams only with skip 1), the tokens
//! `x[r, start + k * skip]` (`k < n`) are looked up. Then TF keeps the counts, IDF writes the
//! column's weight where the count is positive, TFIDF multiplies (weights absent: 1). The tables
//! must be weights and are checked at load (`n` in `1 ..= max_n`, in-pool ranges, columns `<
//! out`).

use core::cmp::Ordering;

use mote_core::DType;
use mote_format::strings::StrView;
use mote_format::{Model, StepRef, Storage};

use super::{BAD_SLOT, strs, want_strings};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, inp, out, want, want_numel};
use crate::words::Words;

/// How TfIdfVectorizer weighs the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TfIdfMode {
    Tf = 0,
    Idf = 1,
    TfIdf = 2,
}

/// Longest n-gram (the pool's; bounds the work per position).
pub const MAX_GRAM: u32 = 64;

#[derive(Clone, Copy, Debug)]
pub struct TfIdf {
    mode: TfIdfMode,
    min_n: usize,
    max_n: usize,
    max_skip: usize,
    rows: usize,
    cols: usize,
    out: usize,
    grams: usize,
    pool: usize,
    tokens: Tokens,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tokens {
    I32,
    I64,
    Str,
}

/// A token of a row or of the pool.
#[derive(Clone, Copy)]
enum Tok<'a> {
    Int(i64),
    Str(&'a [u8]),
}

fn cmp(a: Tok<'_>, b: Tok<'_>) -> Ordering {
    match (a, b) {
        (Tok::Int(a), Tok::Int(b)) => a.cmp(&b),
        (Tok::Str(a), Tok::Str(b)) => a.cmp(b),
        (Tok::Int(_), Tok::Str(_)) => Ordering::Less,
        (Tok::Str(_), Tok::Int(_)) => Ordering::Greater,
    }
}

/// A token sequence read from a tensor: integers or strings.
enum Seq<'a> {
    I32(&'a [i32]),
    I64(&'a [i64]),
    Str(StrView<'a>),
}

impl<'a> Seq<'a> {
    fn at(&self, i: usize) -> Result<Tok<'a>, RunFault> {
        match self {
            Seq::I32(v) => v.get(i).map(|&x| Tok::Int(x as i64)),
            Seq::I64(v) => v.get(i).map(|&x| Tok::Int(x)),
            Seq::Str(v) => v.get(i).map(Tok::Str),
        }
        .ok_or(BAD_SLOT)
    }
}

impl TfIdf {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<TfIdf, StepFault> {
        io.arity(3, 4, 1)?;
        let mut w = Words::new(step);
        let mode = [TfIdfMode::Tf, TfIdfMode::Idf, TfIdfMode::TfIdf][w.upto(2)?];
        let min_n = w.upto(MAX_GRAM)?;
        let max_n = w.upto(MAX_GRAM)?;
        let max_skip = w.u32()? as usize;
        let (rows, cols, out) = (w.u32()? as usize, w.u32()? as usize, w.u32()? as usize);
        w.end()?;
        let (x, pool, grams, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        let tokens = match x.dtype {
            DType::I32 => Tokens::I32,
            DType::I64 => Tokens::I64,
            DType::String => Tokens::Str,
            _ => return Err(StepFault::DType),
        };
        if tokens == Tokens::Str {
            want_strings(&x)?;
            want_strings(&pool)?;
        } else {
            want_numel(&x, x.numel())?;
            want(&pool, DType::I64)?;
            want_numel(&pool, pool.numel())?;
        }
        want(&grams, DType::U32)?;
        want(&y, DType::F32)?;
        if pool.storage != Storage::Weights || grams.storage != Storage::Weights || pool.rank != 1 {
            return Err(StepFault::Shape);
        }
        let g = match grams.dims() {
            &[g, 3] => g as usize,
            _ => return Err(StepFault::Shape),
        };
        want_numel(&grams, 3 * g)?;
        let numel = rows.checked_mul(cols).ok_or(StepFault::Shape)?;
        let y_ok = match *y.dims() {
            [o] => rows == 1 && o as usize == out,
            [r, o] => r as usize == rows && o as usize == out,
            _ => false,
        };
        if x.numel() != numel || x.rank > 2 || !y_ok || min_n < 1 || min_n > max_n {
            return Err(StepFault::Shape);
        }
        want_numel(&y, rows.checked_mul(out).ok_or(StepFault::Shape)?)?;
        if let Some(wt) = io.opt(3) {
            want(&wt, DType::F32)?;
            want_numel(&wt, out)?;
        }
        let pool_len = pool.numel();
        Ok(TfIdf { mode, min_n, max_n, max_skip, rows, cols, out, grams: g, pool: pool_len, tokens })
    }

    /// Every n-gram row in range; constant string tokens UTF-8 inside their pool.
    pub fn check_tables(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        let grams = io.input(2).ok().and_then(|t| model.weight_bytes(&t)).ok_or(StepFault::Shape)?;
        let word = |r: &[u8], k: usize| u32::from_le_bytes([r[4 * k], r[4 * k + 1], r[4 * k + 2], r[4 * k + 3]]);
        for r in grams.chunks_exact(12) {
            let (n, start, col) = (word(r, 0) as usize, word(r, 1) as usize, word(r, 2) as usize);
            if n == 0 || n > self.max_n || start.checked_add(n).is_none_or(|e| e > self.pool) || col >= self.out {
                return Err(StepFault::Shape);
            }
        }
        if self.tokens == Tokens::Str {
            super::check_strings(model, &io.input(1)?)?;
        }
        Ok(())
    }

    fn seq<'m>(&self, mem: &Mem<'m>, t: &mote_format::TensorRef<'_>, tokens: Tokens) -> Result<Seq<'m>, RunFault> {
        Ok(match tokens {
            Tokens::I32 => Seq::I32(inp::<i32>(mem, t)),
            Tokens::I64 => Seq::I64(inp::<i64>(mem, t)),
            Tokens::Str => Seq::Str(strs(mem, t)?),
        })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let x = self.seq(mem, &io.input(0)?, self.tokens)?;
        let pool_tokens = if self.tokens == Tokens::Str { Tokens::Str } else { Tokens::I64 };
        let pool = self.seq(mem, &io.input(1)?, pool_tokens)?;
        let grams = inp::<u32>(mem, &io.input(2)?);
        let y = out::<f32>(mem, &io.output(0)?);
        y.fill(0.0);
        const BAD_GRAM: RunFault = RunFault::Data("TfIdfVectorizer: an n-gram row is out of range");
        let gram = |g: usize| -> Result<(usize, usize, usize), RunFault> {
            let r = grams.get(3 * g..3 * g + 3).ok_or(BAD_GRAM)?;
            Ok((r[0] as usize, r[1] as usize, r[2] as usize))
        };
        // The rows of the table holding n-grams of length n: [first, end).
        let range_of = |n: usize| -> Result<(usize, usize), RunFault> {
            let (mut lo, mut hi) = (0, self.grams);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if gram(mid)?.0 < n { lo = mid + 1 } else { hi = mid }
            }
            let first = lo;
            hi = self.grams;
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if gram(mid)?.0 <= n { lo = mid + 1 } else { hi = mid }
            }
            Ok((first, lo))
        };
        let cols = self.cols;
        for r in 0..self.rows {
            let skips = self.max_skip.saturating_add(1).min(cols.max(1));
            for skip in 1..=skips {
                let min_n = if skip == 1 { self.min_n } else { self.min_n.max(2) };
                if min_n > self.max_n {
                    break;
                }
                for start in 0..cols {
                    for n in min_n..=self.max_n {
                        if start + (n - 1) * skip >= cols {
                            break;
                        }
                        // Binary search of the row's tokens among the n-grams of length n.
                        let (mut lo, mut hi) = range_of(n)?;
                        while lo < hi {
                            let mid = lo + (hi - lo) / 2;
                            let (_, g0, col) = gram(mid)?;
                            let mut ord = Ordering::Equal;
                            for k in 0..n {
                                ord = cmp(pool.at(g0 + k)?, x.at(r * cols + start + k * skip)?);
                                if ord != Ordering::Equal {
                                    break;
                                }
                            }
                            match ord {
                                Ordering::Less => lo = mid + 1,
                                Ordering::Greater => hi = mid,
                                Ordering::Equal => {
                                    if let Some(v) = y.get_mut(r * self.out + col) {
                                        *v += 1.0;
                                    }
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        let weights = io.opt(3).map(|t| inp::<f32>(mem, &t));
        if self.mode != TfIdfMode::Tf {
            for (i, v) in y.iter_mut().enumerate() {
                let w = weights.and_then(|w| w.get(i % self.out.max(1))).copied().unwrap_or(1.0);
                *v = match self.mode {
                    TfIdfMode::Idf if *v > 0.0 => w,
                    TfIdfMode::Idf => 0.0,
                    _ => w * *v,
                };
            }
        }
        Ok(())
    }
}

/// TfIdfVectorizer's attribute words.
#[cfg(feature = "alloc")]
pub fn encode_tfidf(
    mode: TfIdfMode,
    min_n: usize,
    max_n: usize,
    max_skip: usize,
    rows: usize,
    cols: usize,
    out: usize,
) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.u32(mode as u32).usize(min_n).usize(max_n).usize(max_skip).usize(rows).usize(cols).usize(out);
    w.0
}
