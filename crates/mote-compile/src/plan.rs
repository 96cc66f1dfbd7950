//! The static memory plan: every arena buffer gets an offset chosen at compile time, greedy over
//! lifetimes (each buffer at the lowest offset that overlaps no buffer alive at the same time)
//! in the best of a few orders (largest first, as TFLite's arena planner does, among them),
//! improved by a local search over the order. Views and in-place results share their buffer.

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
/// Most placements the local search tries, and its work budget (buffer pairs compared).
const SEARCH_TRIES: usize = 3000;
const SEARCH_WORK: usize = 60_000_000;
/// Alignment of buffers smaller than [`ALIGN`].
const SMALL_ALIGN: usize = 16;

/// Plans `p`'s buffers; `scratch[i]` is step `i`'s scratch need. Outputs live from the step
/// that first writes them to the end, inputs from the start to the end, or only to their last
/// use with `consume_inputs` (a microcontroller's plan, like TFLite Micro's: the caller sets the
/// inputs before every run); other pinned buffers (run counters, counts) for the whole run.
pub fn plan(p: &Program, scratch: &[usize], consume_inputs: bool) -> MemPlan {
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
    let last = n.max(1) - 1;
    let bufs_of = |io: &[(usize, String)]| io.iter().filter_map(|(t, _)| p.tensors[*t].buf()).collect::<Vec<_>>();
    let (ins, outs) = (bufs_of(&p.inputs), bufs_of(&p.outputs));
    for (b, buf) in p.bufs.iter().enumerate() {
        if !buf.pinned {
            continue;
        }
        life[b] = Some(match (ins.contains(&b), outs.contains(&b), life[b]) {
            (true, false, Some((_, z))) if consume_inputs => (0, z),
            (false, true, Some((a, _))) => (a, last),
            _ => (0, last),
        });
    }
    // The scratch region: one more buffer, alive from the first to the last step needing it.
    let scratch_size = scratch.iter().copied().max().unwrap_or(0);
    let users: Vec<usize> = (0..n).filter(|&s| scratch[s] > 0).collect();
    if let (Some(&a), Some(&z)) = (users.first(), users.last()) {
        life[nb] = Some((a, z));
    }
    let size = |b: usize| if b == nb { scratch_size } else { p.bufs[b].bytes };

    let bufs: Vec<usize> = (0..=nb).filter(|&b| life[b].is_some() && size(b) > 0).collect();
    let span = |b: usize| life[b].map_or(0, |(a, z)| z - a + 1);
    let start = |b: usize| life[b].map_or(0, |l| l.0);
    // Greedy placement in a few orders, the smallest arena kept: largest first (TFLite's),
    // largest area (bytes x steps) first, in execution order, and backwards from the last
    // step (a large input dying at step 0 then fits beside the buffers of later steps).
    let orders: [&dyn Fn(&usize, &usize) -> std::cmp::Ordering; 4] = [
        &|&x, &y| start(y).cmp(&start(x)).then(size(y).cmp(&size(x))),
        &|&x, &y| size(y).cmp(&size(x)).then(start(x).cmp(&start(y))),
        &|&x, &y| (size(y) * span(y)).cmp(&(size(x) * span(x))).then(start(x).cmp(&start(y))),
        &|&x, &y| start(x).cmp(&start(y)).then(size(y).cmp(&size(x))),
    ];
    let (mut order, (mut offsets, mut arena)) = orders
        .iter()
        .map(|cmp| {
            let mut order = bufs.clone();
            order.sort_by(|x, y| cmp(x, y));
            let placed = place(&order, &life, &size, nb);
            (order, placed)
        })
        .min_by_key(|(_, (_, arena))| *arena)
        .unwrap_or_default();
    let mut peak_live = 0;
    for s in 0..n {
        let live: usize = (0..=nb).filter(|&b| life[b].is_some_and(|(a, z)| a <= s && s <= z)).map(size).sum();
        peak_live = peak_live.max(live);
    }
    // Then a local search from the best order: swap two buffers, keep the swap unless the arena
    // grows, until it reaches the peak or the budget of placements (each costs `len²`) runs
    // out. Deterministic: a fixed-seed generator.
    let tries = (SEARCH_WORK / order.len().max(1).pow(2)).min(SEARCH_TRIES);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..tries {
        if arena <= peak_live.next_multiple_of(ALIGN) || order.len() < 2 {
            break;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let (i, j) = ((rng % order.len() as u64) as usize, ((rng >> 32) % order.len() as u64) as usize);
        order.swap(i, j);
        let (o, a) = place(&order, &life, &size, nb);
        if a <= arena {
            (offsets, arena) = (o, a);
        } else {
            order.swap(i, j);
        }
    }
    let scratch_offset = offsets[nb];
    offsets.truncate(nb);
    MemPlan { offsets, arena, scratch_offset, scratch_size, peak_live }
}

/// Places the buffers in `order`, each at the lowest offset that overlaps no buffer placed
/// before it and alive at the same time: (offsets, arena bytes).
fn place(
    order: &[usize],
    life: &[Option<(usize, usize)>],
    size: &dyn Fn(usize) -> usize,
    nb: usize,
) -> (Vec<usize>, usize) {
    // Buffers of a vector or more start on a cache line; smaller ones (tiny models' vectors
    // and scalars) on 16 bytes, enough for every element type.
    let align = |b: usize| if size(b) >= ALIGN { ALIGN } else { SMALL_ALIGN };
    let mut offsets = vec![0usize; nb + 1];
    let mut placed: Vec<usize> = Vec::new();
    let mut arena = 0;
    for &b in order {
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
    (offsets, arena)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lir::{Buf, LStep, LTensor, Place};
    use mote_core::DType;
    use mote_format::OpCode;

    /// A program with one buffer per `(bytes, first, last)`: step `s` touches every buffer alive
    /// at `s`; buffer 0 is the input, the last one the output.
    fn program(bufs: &[(usize, usize, usize)]) -> Program {
        let mut p = Program::default();
        for (b, &(bytes, ..)) in bufs.iter().enumerate() {
            p.bufs.push(Buf { bytes, pinned: b == 0 || b == bufs.len() - 1 });
            let place = Place::Arena { buf: b, offset: 0 };
            p.tensors.push(LTensor {
                dtype: DType::I8,
                dims: vec![bytes],
                place,
                name: format!("t{b}"),
                packed: None,
                pool: 0,
            });
        }
        let steps = bufs.iter().map(|b| b.2).max().unwrap_or(0) + 1;
        for s in 0..steps {
            let live: Vec<usize> = (0..bufs.len()).filter(|&b| bufs[b].1 <= s && s <= bufs[b].2).collect();
            let step = LStep {
                op: OpCode::Copy,
                inputs: live.iter().map(|&b| Some(b)).collect(),
                outputs: vec![],
                attrs: vec![],
                name: String::new(),
                scratch: 0,
            };
            p.steps.push(step);
        }
        p.inputs.push((0, "x".into()));
        p.outputs.push((bufs.len() - 1, "y".into()));
        p
    }

    /// VWW's first layers (a 27,648-byte input read once, then 18,432 / 36,864-byte activations):
    /// largest-first placement needs 64,512 bytes; the search finds the peak, 55,296.
    #[test]
    fn the_search_reaches_the_peak_where_largest_first_does_not() {
        let bufs = [(27648, 0, 0), (18432, 0, 1), (18432, 1, 2), (36864, 2, 3), (9216, 3, 4), (18432, 4, 5), (2, 5, 5)];
        let p = program(&bufs);
        let m = plan(&p, &vec![0; p.steps.len()], true);
        assert_eq!(m.peak_live, 55296);
        assert_eq!(m.arena, 55296);
        // Not consumed, the input stays to the end: the peak grows by it.
        let m = plan(&p, &vec![0; p.steps.len()], false);
        assert_eq!(m.peak_live, 55296 + 27648);
        // No two buffers alive at one step overlap.
        let m = plan(&p, &vec![0; p.steps.len()], true);
        for (x, a) in bufs.iter().enumerate() {
            for (y, b) in bufs.iter().enumerate().skip(x + 1) {
                let together = a.1 <= b.2 && b.1 <= a.2;
                let apart = m.offsets[x] + a.0 <= m.offsets[y] || m.offsets[y] + b.0 <= m.offsets[x];
                assert!(!together || apart, "buffers {x} and {y} overlap");
            }
        }
    }
}
