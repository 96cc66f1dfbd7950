//! The static memory plan: every arena buffer gets an offset chosen at compile time, greedy by
//! size over lifetimes (largest first, lowest offset that overlaps no buffer alive at the same
//! time), as TFLite's arena planner does. Views and in-place results share their buffer.

use crate::lir::Program;

/// Offsets and sizes.
#[derive(Clone, Debug, Default)]
pub struct MemPlan {
    /// Byte offset of each buffer (`Program::bufs` order).
    pub offsets: Vec<usize>,
    pub arena: usize,
    pub scratch_offset: usize,
    pub scratch_size: usize,
    /// Largest sum of live buffer bytes at any step (the lower bound for any plan).
    pub peak_live: usize,
}

const ALIGN: usize = mote_format::ALIGN;
/// Alignment of buffers smaller than [`ALIGN`].
const SMALL_ALIGN: usize = 16;

/// Plans `p`'s buffers; `scratch[i]` is step `i`'s scratch need.
pub fn plan(p: &Program, scratch: &[usize]) -> MemPlan {
    let n = p.steps.len();
    let nb = p.bufs.len();
    let mut life: Vec<Option<(usize, usize)>> = vec![None; nb + 1];
    let mut touch = |b: usize, s: usize| {
        life[b] = Some(match life[b] {
            None => (s, s),
            Some((a, z)) => (a.min(s), z.max(s)),
        });
    };
    for (s, st) in p.steps.iter().enumerate() {
        for t in st.inputs.iter().flatten().chain(&st.outputs) {
            if let Some(b) = p.tensors[*t].buf() {
                touch(b, s);
            }
        }
    }
    for (b, buf) in p.bufs.iter().enumerate() {
        if buf.pinned {
            life[b] = Some((0, n.max(1) - 1));
        }
    }
    // The scratch region: one more buffer, alive from the first to the last step needing it.
    let scratch_size = scratch.iter().copied().max().unwrap_or(0);
    let users: Vec<usize> = (0..n).filter(|&s| scratch[s] > 0).collect();
    if let (Some(&a), Some(&z)) = (users.first(), users.last()) {
        life[nb] = Some((a, z));
    }
    let size = |b: usize| if b == nb { scratch_size } else { p.bufs[b].bytes };

    let mut order: Vec<usize> = (0..=nb).filter(|&b| life[b].is_some() && size(b) > 0).collect();
    order.sort_by_key(|&b| (std::cmp::Reverse(size(b)), life[b].map(|l| l.0)));
    let mut offsets = vec![0usize; nb + 1];
    let mut placed: Vec<usize> = Vec::new();
    let mut arena = 0;
    // Buffers of a vector or more start on a cache line; smaller ones (tiny models' vectors
    // and scalars) on 16 bytes, enough for every element type.
    let align = |b: usize| if size(b) >= ALIGN { ALIGN } else { SMALL_ALIGN };
    for &b in &order {
        let (a, z) = life[b].unwrap_or((0, 0));
        let len = size(b).next_multiple_of(align(b));
        let mut clash: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&q| life[q].is_some_and(|(qa, qz)| qa <= z && a <= qz))
            .map(|&q| (offsets[q], size(q).next_multiple_of(align(q))))
            .collect();
        clash.sort_unstable();
        let mut at = 0;
        for (o, l) in clash {
            if at + len <= o {
                break;
            }
            at = at.max((o + l).next_multiple_of(align(b)));
        }
        offsets[b] = at;
        arena = arena.max(at + len);
        placed.push(b);
    }
    let mut peak_live = 0;
    for s in 0..n {
        let live: usize = (0..=nb).filter(|&b| life[b].is_some_and(|(a, z)| a <= s && s <= z)).map(size).sum();
        peak_live = peak_live.max(live);
    }
    let scratch_offset = offsets[nb];
    offsets.truncate(nb);
    MemPlan { offsets, arena, scratch_offset, scratch_size, peak_live }
}
