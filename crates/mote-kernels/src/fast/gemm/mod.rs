//! f32 GEMM: `C[m x n] = A[m x k] * B[k x n]`, plus bias, then an activation.
//!
//! Goto/BLIS structure: B is packed in blocks of `KC x NC` (L3/L2), A in blocks of `MC x KC`
//! (L2), and a register-blocked micro-kernel computes `6 x 16` tiles of C from one A panel and
//! one B panel (L1). Either operand may be packed ahead of time ([`pack_a`], [`pack_b`]: weights
//! at compile time); a strided operand is packed into `scratch` at run time, except a
//! row-major B whose rows hold a panel and that feeds at most 48 rows of A (a pointwise
//! convolution with few output channels): its full panels are read in place, since packing
//! would cost more than the products it serves.
//!
//! One row of A against packed B (`m = 1`) skips the micro-kernel's zero rows: it streams B
//! once (`gemv`), with the same accumulation order.
//!
//! Loop order: N blocks, K blocks, M blocks, B panels, A panels; the B panel stays in L1 while
//! the A block streams from L2. Accumulation order per element of C: K in increasing order
//! (within and across K blocks, each block adding to the stored partial sums), then the bias,
//! then the activation. On AVX2 at 512x512x512 this runs at about 90% of the measured one-core
//! FMA peak (`cargo bench -p mote-kernels --bench min_times -- gemm`).
//!
//! # Packed format, version [`PACK_FORMAT_VERSION`]
//! Independent of the ISA that runs it (AVX2, NEON, simd128 and the portable path read the same
//! bytes). Packed A is `ceil(m / MR)` panels of `k x MR` floats; panel `p`, group `q`, lane `r`
//! (at `(p * k + q) * MR + r`) is `A[p * MR + r][q]`, zero for rows `>= m`. Packed B is
//! `ceil(n / NR)` panels of `k x NR` floats; panel `p`, group `q`, lane `j` (at
//! `(p * k + q) * NR + j`) is `B[q][p * NR + j]`, zero for columns `>= n`. `MR = 6`, `NR = 16`.

mod gemv;
pub(crate) mod micro;
pub(crate) mod pack;

use micro::{BRows, Tile, TileBias};
use pack::{Im2col, Strided};

use super::activation::Activation;
use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};

/// Rows of a packed-A panel (micro-tile height).
pub const MR: usize = 6;
/// Columns of a packed-B panel (micro-tile width).
pub const NR: usize = 16;
/// Version of the packed layout described in the module docs; bump it whenever the layout
/// changes (packed weights are stored in `.mote` files).
pub const PACK_FORMAT_VERSION: u32 = 1;

/// K block: a `KC x NR` B panel (16 KiB) and a `KC x MR` A panel stay in L1.
pub(crate) const KC: usize = 256;
/// M block (a multiple of `MR`): the `MC x KC` A block (144 KiB) stays in L2.
const MC: usize = 144;
/// N block (a multiple of `NR`): the `KC x NC` B block (4 MiB) stays in L3.
const NC: usize = 4080;

/// Columns per run of a B read in place with `k <= DIRECT_RUN_MAX_K` (see the driver).
const DIRECT_COLS: usize = 256;
/// Deepest K for which a B read in place is streamed in runs of [`DIRECT_COLS`] columns.
const DIRECT_RUN_MAX_K: usize = 32;

/// Largest `m` for which a row-major B is read in place instead of packed.
const DIRECT_B_MAX_M: usize = 48;

/// A GEMM operand.
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    /// A row-major matrix read through strides: element `(i, j)` is `data[i * rs + j * cs]`
    /// (a transposed operand is `rs = 1, cs = rows`).
    Strided { data: &'a [f32], rs: usize, cs: usize },
    /// Packed by [`pack_a`] (as A) or [`pack_b`] (as B) with the same dimensions.
    Packed(&'a [f32]),
}

impl<'a> Operand<'a> {
    /// A contiguous row-major matrix with `cols` columns.
    pub fn row_major(data: &'a [f32], cols: usize) -> Operand<'a> {
        Operand::Strided { data, rs: cols, cs: 1 }
    }
}

/// The bias added before the activation.
#[derive(Clone, Copy, Debug, Default)]
pub enum Bias<'a> {
    #[default]
    None,
    /// One value per row of C (`m` values): per output channel of a convolution.
    PerRow(&'a [f32]),
    /// One value per column of C (`n` values): per output feature of a fully connected layer.
    PerCol(&'a [f32]),
}

/// Length of `A [m x k]` packed by [`pack_a`].
pub fn pack_a_len(m: usize, k: usize) -> usize {
    m.div_ceil(MR).saturating_mul(MR).saturating_mul(k)
}

/// Length of `B [k x n]` packed by [`pack_b`].
pub fn pack_b_len(k: usize, n: usize) -> usize {
    n.div_ceil(NR).saturating_mul(NR).saturating_mul(k)
}

/// Packs `A [m x k]` (element `(i, j)` at `a[i * rs + j * cs]`) into `out` (at least
/// [`pack_a_len`] floats).
pub fn pack_a(m: usize, k: usize, a: &[f32], rs: usize, cs: usize, out: &mut [f32]) {
    check_strided("A", m, k, a, rs, cs);
    assert!(out.len() >= pack_a_len(m, k), "pack_a: output shorter than pack_a_len");
    pack::pack_a_block(Strided { data: a, rs, cs }, (0, m), (0, k), out);
}

/// Packs `B [k x n]` (element `(i, j)` at `b[i * rs + j * cs]`) into `out` (at least
/// [`pack_b_len`] floats).
pub fn pack_b(k: usize, n: usize, b: &[f32], rs: usize, cs: usize, out: &mut [f32]) {
    check_strided("B", k, n, b, rs, cs);
    assert!(out.len() >= pack_b_len(k, n), "pack_b: output shorter than pack_b_len");
    pack::pack_b_block(Strided { data: b, rs, cs }, (0, k), (0, n), out);
}

/// Scratch floats [`gemm`] needs for these dimensions, given which operands come packed.
pub fn gemm_scratch_len(m: usize, n: usize, k: usize, a_packed: bool, b_packed: bool) -> usize {
    let kc = k.clamp(1, KC);
    let b = if b_packed { 0 } else { kc * n.min(NC).div_ceil(NR) * NR };
    let a = if a_packed { 0 } else { kc * m.min(MC).div_ceil(MR) * MR };
    a + b
}

/// `C = act(A * B + bias)` with `C [m x n]` row-major with row stride `ldc` (overwritten).
///
/// Panics (a caller bug) when a slice is too short for its dimensions and strides: a packed
/// operand shorter than [`pack_a_len`]/[`pack_b_len`], `c` shorter than `(m-1) * ldc + n`,
/// `ldc < n`, a bias shorter than `m`/`n`, or `scratch` shorter than [`gemm_scratch_len`].
pub fn gemm(
    cpu: Cpu,
    (m, n, k): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
    ldc: usize,
    bias: Bias<'_>,
    act: Activation,
    scratch: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    let a = match a {
        Operand::Packed(p) => {
            assert!(p.len() >= pack_a_len(m, k), "gemm: packed A shorter than pack_a_len(m, k)");
            ASrc::Packed(p)
        }
        Operand::Strided { data, rs, cs } => {
            check_strided("A", m, k, data, rs, cs);
            ASrc::Strided(Strided { data, rs, cs })
        }
    };
    let b = match b {
        Operand::Packed(p) => {
            assert!(p.len() >= pack_b_len(k, n), "gemm: packed B shorter than pack_b_len(k, n)");
            BSrc::Packed(p)
        }
        Operand::Strided { data, rs, cs } => {
            check_strided("B", k, n, data, rs, cs);
            BSrc::Strided(Strided { data, rs, cs })
        }
    };
    let (a_packed, b_packed) = (matches!(a, ASrc::Packed(_)), matches!(b, BSrc::Packed(_)));
    assert!(
        scratch.len() >= gemm_scratch_len(m, n, k, a_packed, b_packed),
        "gemm: scratch shorter than gemm_scratch_len"
    );
    gemm_run(cpu, &Gemm { m, n, k, a, b, ldc, bias, act }, c, scratch);
}

fn check_strided(name: &str, rows: usize, cols: usize, data: &[f32], rs: usize, cs: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1).checked_mul(rs).and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
    assert!(last.is_some_and(|l| l < data.len()), "gemm: operand {name} [{rows} x {cols}] does not fit its slice");
}

/// Where A comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ASrc<'a> {
    Packed(&'a [f32]),
    Strided(Strided<'a>),
}

/// Where B comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BSrc<'a> {
    Packed(&'a [f32]),
    Strided(Strided<'a>),
    Im2col(Im2col<'a>),
}

/// A checked GEMM problem (the internal entry used by convolution too).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gemm<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: ASrc<'a>,
    pub b: BSrc<'a>,
    pub ldc: usize,
    pub bias: Bias<'a>,
    pub act: Activation,
}

/// Runs a checked problem on `cpu` (slice lengths are still bounds-checked while running).
pub(crate) fn gemm_run(cpu: Cpu, g: &Gemm<'_>, c: &mut [f32], scratch: &mut [f32]) {
    assert!(g.ldc >= g.n, "gemm: ldc < n");
    assert!(g.m == 0 || c.len() >= (g.m - 1) * g.ldc + g.n, "gemm: C shorter than (m - 1) * ldc + n");
    match g.bias {
        Bias::PerRow(b) => assert!(b.len() >= g.m, "gemm: per-row bias shorter than m"),
        Bias::PerCol(b) => assert!(b.len() >= g.n, "gemm: per-column bias shorter than n"),
        Bias::None => {}
    }
    dispatch(cpu, Run { g, c, scratch });
}

struct Run<'a, 'b> {
    g: &'b Gemm<'a>,
    c: &'b mut [f32],
    scratch: &'b mut [f32],
}

impl SimdOp for Run<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        driver(s, self.g, self.c, self.scratch);
    }
}

/// The blocked loops: `jc` over N blocks, `pc` over K blocks (B block packed), `ic` over M blocks
/// (A block packed), then B panels and A panels.
#[inline(always)]
fn driver<S: Simd>(s: S, g: &Gemm<'_>, c: &mut [f32], scratch: &mut [f32]) {
    if let (1, BSrc::Packed(p)) = (g.m, g.b) {
        return gemv::run(s, g, p, c);
    }
    let (m, n, k) = (g.m, g.n, g.k);
    let kc_max = k.clamp(1, KC);
    let b_len = if matches!(g.b, BSrc::Packed(_)) { 0 } else { kc_max * n.min(NC).div_ceil(NR) * NR };
    let (b_buf, a_buf) = scratch.split_at_mut(b_len);
    // A row-major B feeding few rows of A is read in place: packing it would cost more than
    // the products it serves.
    let direct = match g.b {
        BSrc::Strided(src) if k > 0 && src.cs == 1 && src.rs >= NR && m <= DIRECT_B_MAX_M => Some(src),
        _ => None,
    };
    for jc in (0..n).step_by(NC) {
        let nc = (n - jc).min(NC);
        // At least one K block, so that k == 0 still stores bias + activation.
        let mut pc = 0;
        loop {
            let kc = (k - pc).min(KC);
            let (b_data, b_stride, b_off, b_first) = match (g.b, direct) {
                (_, Some(src)) => {
                    // Only the edge panel (if any) is packed.
                    let full = nc / NR * NR;
                    if full < nc {
                        pack::pack_b_block(src, (pc, kc), (jc + full, nc - full), b_buf);
                    }
                    (&*b_buf, kc * NR, 0, 0)
                }
                (BSrc::Packed(p), None) => (p, k * NR, pc * NR, jc / NR),
                (BSrc::Strided(src), None) => {
                    pack::pack_b_block(src, (pc, kc), (jc, nc), b_buf);
                    (&*b_buf, kc * NR, 0, 0)
                }
                (BSrc::Im2col(src), None) => {
                    pack::pack_b_im2col(s, src, (pc, kc), (jc, nc), b_buf);
                    (&*b_buf, kc * NR, 0, 0)
                }
            };
            for ic in (0..m).step_by(MC) {
                let mc = (m - ic).min(MC);
                let (a_data, a_stride, a_off, a_first) = match g.a {
                    ASrc::Packed(p) => (p, k * MR, pc * MR, ic / MR),
                    ASrc::Strided(src) => {
                        pack::pack_a_block(src, (ic, mc), (pc, kc), a_buf);
                        (&*a_buf, kc * MR, 0, 0)
                    }
                };
                // B read in place with a shallow K: runs of DIRECT_COLS columns per A panel, so
                // that each row of B and C is streamed in long runs (the tiles are bound by their
                // stores to C, and would otherwise touch every row of B and C for only 16
                // columns at a time). With a deeper K, the B panel is reused from L1 by every A
                // panel instead.
                let run = if direct.is_some() && k <= DIRECT_RUN_MAX_K { DIRECT_COLS } else { NR };
                for jb in (0..nc).step_by(run) {
                    for ir in (0..mc).step_by(MR) {
                        for jr in (jb..nc.min(jb + run)).step_by(NR) {
                            let (bp, ldb) = match direct {
                                // Full panels read in place; the edge panel was packed.
                                Some(src) if jr + NR <= nc => (&src.data[pc * src.rs + jc + jr..], src.rs),
                                Some(_) => (&b_data[..kc * NR], NR),
                                None => (&b_data[(b_first + jr / NR) * b_stride + b_off..][..kc * NR], NR),
                            };
                            let col = jc + jr;
                            let ap = &a_data[(a_first + ir / MR) * a_stride + a_off..][..kc * MR];
                            let row = ic + ir;
                            let t = Tile {
                                rows: (mc - ir).min(MR),
                                cols: (nc - jr).min(NR),
                                accumulate: pc > 0,
                                finish: pc + kc == k,
                                bias: match g.bias {
                                    Bias::None => TileBias::None,
                                    Bias::PerRow(b) => TileBias::Rows(&b[row..]),
                                    Bias::PerCol(b) => TileBias::Cols(&b[col..]),
                                },
                                act: g.act,
                            };
                            micro::tile(
                                s,
                                kc,
                                ap,
                                BRows::Strided { b: bp, ldb },
                                &mut c[row * g.ldc + col..],
                                g.ldc,
                                &t,
                            );
                        }
                    }
                }
            }
            pc += kc;
            if pc >= k {
                break;
            }
        }
    }
}
