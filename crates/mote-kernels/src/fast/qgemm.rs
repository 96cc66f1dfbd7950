//! Integer GEMM for the quantized ops: u8/i8 operands, zero points per tensor, per row of A or
//! per column of B, exact i32 accumulation.
//!
//! `C[i, j] = Σ_p (A[i, p] - za(i)) (B[p, j] - zb(j))`, wrapping in i32 like the reference
//! [`gemm_i32`](crate::reference::quant::gemm_i32) (the sum is the same element of Z/2^32
//! whatever the order, so the result is bit-identical to the reference for every shape and
//! value). Nothing saturates: the products of zero-point-corrected values are formed in i32.
//!
//! The right-hand operand is *expanded*, a block of up to [`QCOLS`] columns at a time, into
//! panels of [`QNR`] columns of i16 values `B - zb` (a padding column is 0); rows of A are read
//! in place, [`QMR`] at a time, and every `QMR x QNR` tile is accumulated in registers
//! ([`micro`]). Expansion is where B's storage is abstracted ([`BSource`]): a plain strided
//! matrix, a matrix the compiler packed ([`qpack_b`], format [`QPACK_FORMAT_VERSION`]), or the
//! im2col view of an image ([`Im2col`], convolution with the input zero point as padding).
//!
//! | step | ahead of time (compiler) | at load | per inference |
//! | --- | --- | --- | --- |
//! | integer MatMul with constant B | [`qpack_b_len`], [`qpack_b`] | [`qgemm_scratch_len`] | [`qgemm`] with [`Packed`] |
//! | integer MatMul | | [`qgemm_scratch_len`] | [`qgemm`] with [`Plain`] |
//! | integer Conv | weights as in ONNX (`[M, C/group, k...]`, rows of A) | [`qgemm_scratch_len`] | [`qgemm`] with [`Im2col`] |

use crate::reference::quant::ConvAxis;

/// Rows of A per register tile.
pub const QMR: usize = 4;
/// Columns of B per panel (and register tile).
pub const QNR: usize = 8;
/// Columns of B expanded at a time (a multiple of [`QNR`]): bounds the scratch.
pub const QCOLS: usize = 256;
/// Version of the packed B layout of [`qpack_b`] (a file's `layout_param`).
pub const QPACK_FORMAT_VERSION: u32 = 1;

/// An 8-bit quantized element (u8 or i8).
pub trait QElem: Copy {
    fn widen(self) -> i32;
    /// The element with these bits.
    fn from_bits(b: u8) -> Self;
    fn to_bits(self) -> u8;
}

impl QElem for u8 {
    #[inline(always)]
    fn widen(self) -> i32 {
        self as i32
    }
    fn from_bits(b: u8) -> u8 {
        b
    }
    fn to_bits(self) -> u8 {
        self
    }
}

impl QElem for i8 {
    #[inline(always)]
    fn widen(self) -> i32 {
        self as i32
    }
    fn from_bits(b: u8) -> i8 {
        b as i8
    }
    fn to_bits(self) -> u8 {
        self as u8
    }
}

/// Bytes of B (`k x n`) packed by [`qpack_b`].
pub fn qpack_b_len(k: usize, n: usize) -> usize {
    n.div_ceil(QNR) * QNR * k
}

/// Packs B (`k x n`, element `(p, j)` at `b[p * rs + j * cs]`) into panels of [`QNR`] columns:
/// panel `q` holds rows `p = 0..k` of columns `q * QNR ..`, `QNR` bytes per row (the elements'
/// bits; columns past `n` are 0). `out` has [`qpack_b_len`] bytes.
pub fn qpack_b<T: QElem>(b: &[T], k: usize, n: usize, rs: usize, cs: usize, out: &mut [u8]) {
    for (q, panel) in out[..qpack_b_len(k, n)].chunks_exact_mut((QNR * k).max(1)).enumerate() {
        for p in 0..k {
            for c in 0..QNR {
                let j = q * QNR + c;
                panel[p * QNR + c] = if j < n { b[p * rs + j * cs].to_bits() } else { 0 };
            }
        }
    }
}

/// i16 values [`qgemm`] needs as scratch for `k x n` products.
pub fn qgemm_scratch_len(k: usize, n: usize) -> usize {
    k * (n.div_ceil(QNR) * QNR).min(QCOLS)
}

/// B's storage, expanded block by block.
pub trait BSource {
    /// Writes columns `j0 .. j0 + cols` (`cols <= QCOLS`) of `B - zb` as i16 panels: panel `q`
    /// is `k` rows of [`QNR`] values at `out[q * QNR * k ..]`; columns past `cols` are 0.
    fn expand(&self, j0: usize, cols: usize, k: usize, out: &mut [i16]);
}

/// A plain B: element `(p, j)` at `data[p * rs + j * cs]`; zero point `zb(j)`.
pub struct Plain<'a, T, Z> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
    pub zb: Z,
}

impl<T, Z> core::fmt::Debug for Plain<'_, T, Z> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Plain {{ len: {}, rs: {}, cs: {} }}", self.data.len(), self.rs, self.cs)
    }
}

impl<T: QElem, Z: Fn(usize) -> i32> BSource for Plain<'_, T, Z> {
    fn expand(&self, j0: usize, cols: usize, k: usize, out: &mut [i16]) {
        for (q, panel) in out[..cols.div_ceil(QNR) * QNR * k].chunks_exact_mut(QNR * k).enumerate() {
            for c in 0..QNR {
                let j = j0 + q * QNR + c;
                if q * QNR + c >= cols {
                    (0..k).for_each(|p| panel[p * QNR + c] = 0);
                    continue;
                }
                let z = (self.zb)(j);
                for p in 0..k {
                    panel[p * QNR + c] = (self.data[p * self.rs + j * self.cs].widen() - z) as i16;
                }
            }
        }
    }
}

/// A B packed by [`qpack_b`] (`data` starts at the matrix); zero point `zb(j)`.
pub struct Packed<'a, T, Z> {
    pub data: &'a [u8],
    pub zb: Z,
    pub _elem: core::marker::PhantomData<T>,
}

impl<T, Z> core::fmt::Debug for Packed<'_, T, Z> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Packed {{ len: {} }}", self.data.len())
    }
}

impl<T: QElem, Z: Fn(usize) -> i32> BSource for Packed<'_, T, Z> {
    fn expand(&self, j0: usize, cols: usize, k: usize, out: &mut [i16]) {
        // j0 is a multiple of QNR (QCOLS is), so the block starts at a panel.
        let first = j0 / QNR;
        for (q, panel) in out[..cols.div_ceil(QNR) * QNR * k].chunks_exact_mut(QNR * k).enumerate() {
            let src = &self.data[(first + q) * QNR * k..][..QNR * k];
            let mut z = [0i32; QNR];
            let mut live = [false; QNR];
            for c in 0..QNR {
                live[c] = q * QNR + c < cols;
                z[c] = if live[c] { (self.zb)(j0 + q * QNR + c) } else { 0 };
            }
            for (row, s) in panel.chunks_exact_mut(QNR).zip(src.chunks_exact(QNR)) {
                for c in 0..QNR {
                    row[c] = if live[c] { (T::from_bits(s[c]).widen() - z[c]) as i16 } else { 0 };
                }
            }
        }
    }
}

/// The im2col view of one image (and group) of a convolution over 3 spatial axes (lower ranks
/// use unit axes): `x` holds `channels` planes of the input volume; row `p` of B is
/// `(channel, kd, kh, kw)`, column `j` an output position `(od, oh, ow)`. Taps outside the input
/// read the zero point `zp` (so they contribute 0).
#[derive(Debug)]
pub struct Im2col<'a, T> {
    pub x: &'a [T],
    pub channels: usize,
    pub axes: [ConvAxis; 3],
    pub zp: i32,
}

impl<T: QElem> Im2col<'_, T> {
    /// B's rows: channels times the kernel volume.
    pub fn rows(&self) -> usize {
        self.channels * self.axes.iter().map(|a| a.kernel).product::<usize>()
    }

    /// B's columns: the output volume.
    pub fn cols(&self) -> usize {
        self.axes.iter().map(|a| a.output).product()
    }
}

impl<T: QElem> BSource for Im2col<'_, T> {
    fn expand(&self, j0: usize, cols: usize, k: usize, out: &mut [i16]) {
        // Rows past `channels * kernel volume` (none when k = rows()) stay as they are.
        let [ad, ah, aw] = self.axes;
        let plane = ad.input * ah.input * aw.input;
        for (q, panel) in out[..cols.div_ceil(QNR) * QNR * k].chunks_exact_mut(QNR * k).enumerate() {
            // Each column's window origin (may be negative: padding).
            let mut base = [[0isize; 3]; QNR];
            let mut live = [false; QNR];
            for c in 0..QNR {
                live[c] = q * QNR + c < cols;
                let j = j0 + q * QNR + c;
                let (od, rest) = (j / (ah.output * aw.output), j % (ah.output * aw.output));
                let (oh, ow) = (rest / aw.output, rest % aw.output);
                base[c] = [
                    (od * ad.stride) as isize - ad.pad_begin,
                    (oh * ah.stride) as isize - ah.pad_begin,
                    (ow * aw.stride) as isize - aw.pad_begin,
                ];
            }
            let mut rows = panel.chunks_exact_mut(QNR);
            for ci in 0..self.channels {
                let xc = &self.x[ci * plane..][..plane];
                for kd in 0..ad.kernel {
                    for kh in 0..ah.kernel {
                        for kw in 0..aw.kernel {
                            let Some(row) = rows.next() else { return };
                            let off =
                                [(kd * ad.dilation) as isize, (kh * ah.dilation) as isize, (kw * aw.dilation) as isize];
                            for c in 0..QNR {
                                let (d, h, w) = (base[c][0] + off[0], base[c][1] + off[1], base[c][2] + off[2]);
                                let inside = live[c]
                                    && (0..ad.input as isize).contains(&d)
                                    && (0..ah.input as isize).contains(&h)
                                    && (0..aw.input as isize).contains(&w);
                                row[c] = if inside {
                                    let i = (d as usize * ah.input + h as usize) * aw.input + w as usize;
                                    (xc[i].widen() - self.zp) as i16
                                } else {
                                    0
                                };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `C = (A - za) (B - zb)` for A `m x k` (row `i` at `a[i * k ..]`) and `B` `k x n`: calls
/// `sink(i, j0, values)` with row `i`'s accumulators for columns `j0 .. j0 + values.len()`,
/// every element exactly once. `scratch` holds at least [`qgemm_scratch_len`] values.
///
/// Panics (a caller bug) when a slice is too short; the runtime validates shapes at load.
#[allow(clippy::too_many_arguments)]
pub fn qgemm<A: QElem>(
    m: usize,
    n: usize,
    k: usize,
    a: &[A],
    za: impl Fn(usize) -> i32,
    b: &impl BSource,
    scratch: &mut [i16],
    mut sink: impl FnMut(usize, usize, &[i32]),
) {
    if m == 0 {
        return;
    }
    if k == 0 {
        // Empty sums: every element is 0.
        let zeros = [0i32; QNR];
        for i in 0..m {
            for j0 in (0..n).step_by(QNR) {
                sink(i, j0, &zeros[..QNR.min(n - j0)]);
            }
        }
        return;
    }
    for j0 in (0..n).step_by(QCOLS) {
        let cols = QCOLS.min(n - j0);
        let panels = cols.div_ceil(QNR);
        let buf = &mut scratch[..panels * QNR * k];
        b.expand(j0, cols, k, buf);
        for i0 in (0..m).step_by(QMR) {
            let rows = QMR.min(m - i0);
            // Short tiles repeat the last row (computed, not stored).
            let ri = |r: usize| i0 + r.min(rows - 1);
            let arows: [&[A]; QMR] = core::array::from_fn(|r| &a[ri(r) * k..][..k]);
            let z: [i32; QMR] = core::array::from_fn(|r| za(ri(r)));
            for q in 0..panels {
                let acc = micro(&arows, &z, &buf[q * QNR * k..][..QNR * k]);
                let width = QNR.min(cols - q * QNR);
                for (r, row) in acc.iter().enumerate().take(rows) {
                    sink(i0 + r, j0 + q * QNR, &row[..width]);
                }
            }
        }
    }
}

/// One `QMR x QNR` tile: `Σ_p (a[r][p] - z[r]) * panel[p][c]`.
#[inline(always)]
fn micro<A: QElem>(a: &[&[A]; QMR], z: &[i32; QMR], panel: &[i16]) -> [[i32; QNR]; QMR] {
    let mut acc = [[0i32; QNR]; QMR];
    for (p, bv) in panel.chunks_exact(QNR).enumerate() {
        let bv: [i32; QNR] = core::array::from_fn(|c| bv[c] as i32);
        for r in 0..QMR {
            let av = a[r][p].widen().wrapping_sub(z[r]);
            for c in 0..QNR {
                acc[r][c] = acc[r][c].wrapping_add(av.wrapping_mul(bv[c]));
            }
        }
    }
    acc
}
