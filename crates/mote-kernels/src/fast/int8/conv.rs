//! The int8 convolution drivers: depthwise (vectorised over channels) and everything else as a
//! GEMM of output pixels (direct NHWC rows for a 1x1 stride-1 convolution, im2col rows padded
//! with the input zero point otherwise) by the packed weight panels.

use super::kernels::{DwTaps, NR, Portable, Q8, Rq};
use super::pack::{GemmShape, MIN_ROWS, RB, conv_pack_len};
use crate::reference::int8::{Conv2d, Requant};

/// `true` when `v` is an int8 value.
fn is_i8(v: i32) -> bool {
    (-128..=127).contains(&v)
}

/// The convolution with the primitives `k` (see [`super::conv2d`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_with<K: Q8>(
    k: K,
    g: &Conv2d,
    x: &[i8],
    x_zp: i32,
    packed: &[u8],
    out: &Requant<'_>,
    y: &mut [i8],
    scratch: &mut [i32],
) {
    let (xl, _, yl) = g.lens();
    let (x, y) = (&x[..xl], &mut y[..yl]);
    let packed = &packed[..conv_pack_len(g).expect("int8 conv2d: inconsistent geometry")];
    let (bias, mult, shift) = (&out.bias[..g.m], &out.mult[..g.m], &out.shift[..g.m]);
    assert!(out.lo <= out.hi, "int8 conv2d: clamp bounds {} > {}", out.lo, out.hi);
    if g.is_depthwise() {
        let w: &[i8] = bytes_as_i8(packed);
        let rq = Rq { cb: bias, mult, shift, zp: out.zp, lo: out.lo, hi: out.hi };
        if is_i8(x_zp) {
            if !k.dw_conv(g, x, x_zp, w, &rq, y) {
                depthwise(k, g, x, x_zp, w, &rq, y);
            }
        } else {
            depthwise(Portable, g, x, x_zp, w, &rq, y);
        }
        return;
    }
    let s = GemmShape::of(g).expect("checked by conv_pack_len");
    let direct = s.direct(g);
    // The per-channel constants (the bias less the input offset times the weight sums) are
    // made once into the scratch when that costs no rows of the block (a desktop plan's
    // scratch); otherwise (a microcontroller's) each panel's are made on the stack.
    let keep = scratch.len() >= g.m && s.block_rows(g, scratch.len() - g.m) == s.block_rows(g, scratch.len());
    let (cb_all, scratch) = scratch.split_at_mut(if keep { g.m } else { 0 });
    let rb = s.block_rows(g, scratch.len());
    assert!(rb >= MIN_ROWS, "int8 conv2d: scratch of {} values is below conv_scratch_min", scratch.len());
    let (acc, rest) = scratch.split_at_mut(rb * NR);
    let col = &mut rest[..if direct { 0 } else { rb * s.k4 }];
    if !is_i8(x_zp) {
        return gemm_any_zp(g, &s, x, x_zp, packed, out, y);
    }
    let off = x_zp + K::A_OFFSET;
    let constant = |o: usize| {
        let wsum = i32::from_le_bytes(packed[4 * o..][..4].try_into().expect("4 bytes"));
        bias[o].wrapping_sub(off.wrapping_mul(wsum))
    };
    for (o, c) in cb_all.iter_mut().enumerate() {
        *c = constant(o);
    }
    // Panel `p` of group `grp`: its first output channel and its channel count.
    let span = |grp: usize, p: usize| (grp * s.mg + p * NR, NR.min(s.mg - p * NR));
    let mut panel_cb = [0i32; NR];
    let col = i32_as_i8(col);
    let rows_total = g.n * g.oh * g.ow;
    let row_len = 4 * s.k4;
    // Panel `p` of group `grp` for rows `r0..r0 + rows` of `a`, with the panel's constants `cb`.
    let mut panel = |grp: usize, p: usize, cb: &[i32], r0: usize, rows: usize, a: &[i8], stride: usize| {
        let b = &packed[s.panel_at(g.m, grp, p)..][..s.panel_len];
        let (o0, nv) = span(grp, p);
        if nv <= NR / 2 {
            k.gemm_panel_half(a, stride, rows, s.k4, b, acc);
        } else {
            k.gemm_panel(a, stride, rows, s.k4, b, acc);
        }
        let rq = Rq { cb, mult: &mult[o0..o0 + nv], shift: &shift[o0..o0 + nv], ..rq_base(out) };
        let yb = &mut y[r0 * g.m + o0..];
        if nv == NR {
            k.requant_panel(acc, rows, &rq, yb, g.m);
        } else {
            partial_panel(k, acc, rows, &rq, nv, yb, g.m);
        }
    };
    for grp in 0..g.groups {
        if direct && rb < RB {
            // A small scratch (a microcontroller's plan): blocks of few rows, so panel by
            // panel, its constants made once, the input rows read in place.
            for p in 0..s.panels {
                let cb = panel_constants(cb_all, &mut panel_cb, span(grp, p), constant);
                for r0 in (0..rows_total).step_by(rb) {
                    let rows = rb.min(rows_total - r0);
                    panel(grp, p, cb, r0, rows, &x[r0 * g.c + grp * s.cg..], g.c);
                }
            }
            continue;
        }
        for r0 in (0..rows_total).step_by(rb) {
            let rows = rb.min(rows_total - r0);
            let (a, stride): (&[i8], usize) = if direct {
                (&x[r0 * g.c + grp * s.cg..], g.c)
            } else {
                im2col(g, &s, x, x_zp as i8, grp, r0, rows, col);
                (&col[..], row_len)
            };
            for p in 0..s.panels {
                panel(grp, p, panel_constants(cb_all, &mut panel_cb, span(grp, p), constant), r0, rows, a, stride);
            }
        }
    }
}

/// The constants of the panel of `nv` channels from `o0`: from `all` (every channel's, made
/// beforehand) or, when it is empty, made by `make` into `buf`.
fn panel_constants<'c>(
    all: &'c [i32],
    buf: &'c mut [i32; NR],
    (o0, nv): (usize, usize),
    make: impl Fn(usize) -> i32,
) -> &'c [i32] {
    if !all.is_empty() {
        return &all[o0..o0 + nv];
    }
    for (j, c) in buf[..nv].iter_mut().enumerate() {
        *c = make(o0 + j);
    }
    &buf[..nv]
}

/// [`Q8::requant_panel`] of a panel with `nv < NR` channels (the output stage padded to
/// [`NR`] lanes): `y[r * ys + j]` for `j < nv`. With at most `NR / 2` channels, two rows share
/// one output stage of `NR` lanes (`acc` is compacted in place, its rows pairs then); the
/// rows are staged in a buffer unless they are `y`'s whole rows.
pub(crate) fn partial_panel<K: Q8>(
    k: K,
    acc: &mut [i32],
    rows: usize,
    rq: &Rq<'_>,
    nv: usize,
    y: &mut [i8],
    ys: usize,
) {
    const H: usize = NR / 2;
    let (mut cb, mut mult, mut shift) = ([0i32; NR], [0i32; NR], [0i32; NR]);
    if nv <= H {
        // Lanes `0..H` of row `q` from row `2q`, lanes `H..NR` from row `2q + 1` (an odd last
        // row paired with itself), in increasing `q`: row `q` is written after rows `2q` and
        // `2q + 1 >= q` are read, and rows past `q` are still unwritten.
        let pairs = rows.div_ceil(2);
        for q in 0..pairs {
            let r1 = (2 * q + 1).min(rows - 1);
            let lo: [i32; H] = acc[2 * q * NR..][..H].try_into().expect("H lanes");
            let hi: [i32; H] = acc[r1 * NR..][..H].try_into().expect("H lanes");
            acc[q * NR..][..H].copy_from_slice(&lo);
            acc[q * NR + H..][..H].copy_from_slice(&hi);
        }
        for half in [0, H] {
            cb[half..half + nv].copy_from_slice(&rq.cb[..nv]);
            mult[half..half + nv].copy_from_slice(&rq.mult[..nv]);
            shift[half..half + nv].copy_from_slice(&rq.shift[..nv]);
        }
        let rq2 = Rq { cb: &cb, mult: &mult, shift: &shift, ..*rq };
        if nv == H && ys == H {
            // Two whole rows of `y` per pair: the full pairs straight into `y`.
            let full = rows / 2;
            k.requant_panel(acc, full, &rq2, y, NR);
            if rows % 2 == 1 {
                let mut b = [0i8; NR];
                k.requant_panel(&acc[full * NR..], 1, &rq2, &mut b, NR);
                y[(rows - 1) * ys..][..H].copy_from_slice(&b[..H]);
            }
            return;
        }
        staged(k, acc, pairs, &rq2, |q, row| {
            // Staged row `q` holds output rows `2q` and `2q + 1`, `H` lanes each.
            copy_out(&row[..H], nv, &mut y[2 * q * ys..]);
            if 2 * q + 1 < rows {
                copy_out(&row[H..], nv, &mut y[(2 * q + 1) * ys..]);
            }
        });
        return;
    }
    cb[..nv].copy_from_slice(&rq.cb[..nv]);
    mult[..nv].copy_from_slice(&rq.mult[..nv]);
    shift[..nv].copy_from_slice(&rq.shift[..nv]);
    let rq = Rq { cb: &cb, mult: &mult, shift: &shift, ..*rq };
    staged(k, acc, rows, &rq, |r, row| copy_out(row, nv, &mut y[r * ys..]));
}

/// Rows staged at once by [`partial_panel`]: a whole block where stacks are large (one
/// `requant_panel` call), 8 rows on a microcontroller (a 128-byte buffer on its small stack).
const STAGE_ROWS: usize = if cfg!(target_os = "none") { 8 } else { RB };

/// [`Q8::requant_panel`] of `rows` accumulator rows into a stack buffer, a few rows at a time,
/// handing each row's `NR` bytes to `put(r, row)`.
fn staged<K: Q8>(k: K, acc: &[i32], rows: usize, rq: &Rq<'_>, mut put: impl FnMut(usize, &[i8])) {
    let mut buf = [0i8; STAGE_ROWS * NR];
    for r0 in (0..rows).step_by(STAGE_ROWS) {
        let n = STAGE_ROWS.min(rows - r0);
        k.requant_panel(&acc[r0 * NR..], n, rq, &mut buf, NR);
        for (i, row) in buf.chunks_exact(NR).take(n).enumerate() {
            put(r0 + i, row);
        }
    }
}

/// `dst[..nv] = src[..nv]`, without a call for the common 8 channels.
fn copy_out(src: &[i8], nv: usize, dst: &mut [i8]) {
    if nv == 8 {
        dst[..8].copy_from_slice(&src[..8]);
    } else {
        for (d, &s) in dst[..nv].iter_mut().zip(src) {
            *d = s;
        }
    }
}

fn rq_base<'a>(out: &Requant<'_>) -> Rq<'a> {
    Rq { cb: &[], mult: &[], shift: &[], zp: out.zp, lo: out.lo, hi: out.hi }
}

/// Rows `r0..r0 + rows` of group `grp`'s im2col matrix into `col` (`4 * k4` bytes per row: the
/// taps in `(ky, kx, ci)` order, `pad` outside the image). The bytes past `K` in a row are left
/// as they are (the panels' weights there are 0), and bytes of `col` past the rows may be
/// overwritten (short kernel rows are written 16 bytes at a time where `col` has room).
#[allow(clippy::too_many_arguments)]
fn im2col(g: &Conv2d, s: &GemmShape, x: &[i8], pad: i8, grp: usize, r0: usize, rows: usize, col: &mut [i8]) {
    let (row_len, col_len) = (4 * s.k4, col.len());
    // Kernel rows of at most 16 bytes (few input channels, no groups or column dilation):
    // each one a fixed 16-byte store, the bytes past it belonging to the next kernel row, the
    // bytes past `K` or the next im2col row, all written later or unused.
    let seg = g.kw * s.cg;
    let contiguous = g.groups == 1 && g.dw == 1;
    let short = contiguous && seg <= 16;
    // The first row's pixel, then stepped (no divisions per row).
    let (mut b, mut oy, mut ox) = (r0 / (g.oh * g.ow), (r0 / g.ow) % g.oh, r0 % g.ow);
    let mut r = 0;
    let mut step = 0;
    while r < rows {
        // Move on by the pixels done last time (a run stays within an output row).
        ox += step;
        if ox == g.ow {
            ox = 0;
            oy += 1;
            if oy == g.oh {
                oy = 0;
                b += 1;
            }
        }
        step = 1;
        let at = r * row_len;
        if contiguous {
            let n = interior_run(g, s, x.len(), (b, oy, ox), rows - r, at, col_len);
            if n > 0 {
                copy_run(g, x, (b, oy, ox), n, row_len, &mut col[at..]);
                (r, step) = (r + n, n);
                continue;
            }
        }
        r += 1;
        if short && at + (g.kh - 1) * seg + 16 <= col_len {
            short_row(g, x, pad, (b, oy, ox), &mut col[at..]);
            continue;
        }
        // Without groups and dilation, the taps of a kernel row inside the image are
        // consecutive pixels: one copy.
        let (kx0, nx) = if g.groups == 1 && g.dw == 1 { tap_range1(ox, g.sw, g.pad_left, g.w, g.kw) } else { (0, 0) };
        for ky in 0..g.kh {
            let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
            let ro = at + ky * seg;
            if iy < 0 || iy >= g.h as isize {
                col[ro..][..seg].fill(pad);
                continue;
            }
            let xrow = (b * g.h + iy as usize) * g.w;
            if nx > 0 {
                let ix0 = ox * g.sw + kx0 - g.pad_left;
                let (src, len) = ((xrow + ix0) * g.c, nx * g.c);
                let row = &mut col[ro..][..seg];
                row[..kx0 * s.cg].fill(pad);
                row[kx0 * s.cg..(kx0 + nx) * s.cg].copy_from_slice(&x[src..][..len]);
                row[(kx0 + nx) * s.cg..].fill(pad);
                continue;
            }
            let row = &mut col[ro..][..seg];
            for kx in 0..g.kw {
                let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_left as isize;
                let d = &mut row[kx * s.cg..][..s.cg];
                if ix < 0 || ix >= g.w as isize {
                    d.fill(pad);
                } else {
                    d.copy_from_slice(&x[(xrow + ix as usize) * g.c + grp * s.cg..][..s.cg]);
                }
            }
        }
    }
}

/// The number of output pixels from `(b, oy, ox)` along its row (at most `max`) whose taps are
/// all inside the image and whose im2col rows [`copy_run`] can write from `col[at..]` (each
/// kernel row rounded up to 16 bytes, `col_len` bytes in all) reading `x_len` bytes: 0 for a
/// border pixel. Needs no groups and column dilation 1.
fn interior_run(
    g: &Conv2d,
    s: &GemmShape,
    x_len: usize,
    (b, oy, ox): (usize, usize, usize),
    max: usize,
    at: usize,
    col_len: usize,
) -> usize {
    let iy0 = (oy * g.sh) as isize - g.pad_top as isize;
    let ix0 = (ox * g.sw) as isize - g.pad_left as isize;
    if iy0 < 0 || iy0 as usize + (g.kh - 1) * g.dh >= g.h || ix0 < 0 || g.w + g.pad_left < g.kw {
        return 0;
    }
    // The last output column whose taps end inside the row.
    let last = ((g.w + g.pad_left - g.kw) / g.sw).min(g.ow - 1);
    if ox > last {
        return 0;
    }
    let seg = g.kw * g.c;
    let seg16 = seg.div_ceil(16) * 16;
    let mut n = (last - ox + 1).min(max);
    // The last pixel's last kernel row bounds every read and write of the run.
    let src = |n: usize| ((b * g.h + iy0 as usize + (g.kh - 1) * g.dh) * g.w + ix0 as usize + (n - 1) * g.sw) * g.c;
    while n > 0 && (src(n) + seg16 > x_len || at + (n - 1) * 4 * s.k4 + (g.kh - 1) * seg + seg16 > col_len) {
        n -= 1;
    }
    n
}

/// The im2col rows of `n` interior output pixels from `(b, oy, ox)` ([`interior_run`]
/// returned at least `n`), rows `row_len` bytes apart from `col[0]`: each kernel row copied in
/// 16-byte chunks, in increasing order (a chunk past a kernel row's end is overwritten by the
/// next one, or lands past `K` or in the next im2col row).
fn copy_run(g: &Conv2d, x: &[i8], (b, oy, ox): (usize, usize, usize), n: usize, row_len: usize, col: &mut [i8]) {
    let seg = g.kw * g.c;
    let iy0 = oy * g.sh - g.pad_top;
    let ix0 = ox * g.sw - g.pad_left;
    let src0 = ((b * g.h + iy0) * g.w + ix0) * g.c;
    let (x_dy, x_px) = (g.dh * g.w * g.c, g.sw * g.c);
    let (x, col) = (&x[src0..], col);
    // Fixed-size copies for kernel rows of up to 64 bytes (a call per row costs more).
    match seg.div_ceil(16) {
        1 => copy_rows::<16>(g.kh, x, x_dy, x_px, n, seg, row_len, col),
        2 => copy_rows::<32>(g.kh, x, x_dy, x_px, n, seg, row_len, col),
        3 => copy_rows::<48>(g.kh, x, x_dy, x_px, n, seg, row_len, col),
        4 => copy_rows::<64>(g.kh, x, x_dy, x_px, n, seg, row_len, col),
        q => {
            for p in 0..n {
                for ky in 0..g.kh {
                    let d = &mut col[p * row_len + ky * seg..][..16 * q];
                    d.copy_from_slice(&x[p * x_px + ky * x_dy..][..16 * q]);
                }
            }
        }
    }
}

/// [`copy_run`]'s copies, `L` bytes per kernel row: `kh` rows `x_dy` apart per pixel, pixels
/// `x_px` apart in `x`, to `col[p * row_len + ky * seg..][..L]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn copy_rows<const L: usize>(
    kh: usize,
    x: &[i8],
    x_dy: usize,
    x_px: usize,
    n: usize,
    seg: usize,
    row_len: usize,
    col: &mut [i8],
) {
    let last = (n - 1) * x_px + (kh - 1) * x_dy;
    assert!(last + L <= x.len() && (n - 1) * row_len + (kh - 1) * seg + L <= col.len());
    // SAFETY: the last pixel's last kernel row is inside both slices (asserted just above) and
    // every other copy is at a lower offset in both; `x` and `col` do not overlap (one is
    // borrowed mutably).
    unsafe {
        let (mut xp, mut cp) = (x.as_ptr(), col.as_mut_ptr());
        for _ in 0..n {
            for ky in 0..kh {
                let v = xp.add(ky * x_dy).cast::<[i8; L]>().read_unaligned();
                cp.add(ky * seg).cast::<[i8; L]>().write_unaligned(v);
            }
            xp = xp.add(x_px);
            cp = cp.add(row_len);
        }
    }
}

/// One im2col row of output pixel `(b, oy, ox)` for kernel rows of at most 16 bytes (no
/// groups, column dilation 1), each kernel row stored as 16 bytes at `col[ky * kw * c..]`
/// (`col` has room for the last one).
fn short_row(g: &Conv2d, x: &[i8], pad: i8, (b, oy, ox): (usize, usize, usize), col: &mut [i8]) {
    let seg = g.kw * g.c;
    let ix0 = (ox * g.sw) as isize - g.pad_left as isize;
    // The bytes of the taps inside the row: `lo..hi` of the kernel row.
    let (kx0, nx) = tap_range1(ox, g.sw, g.pad_left, g.w, g.kw);
    let (lo, hi) = (kx0 * g.c, (kx0 + nx) * g.c);
    // Those bytes as a mask of the 16 (little-endian), and `pad` in every byte.
    let below = |n: usize| 1u128.checked_shl(8 * n as u32).map_or(u128::MAX, |v| v - 1);
    let keep = below(hi) & !below(lo);
    let padv = u128::from_le_bytes([pad as u8; 16]);
    for ky in 0..g.kh {
        let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
        let d: &mut [i8; 16] = (&mut col[ky * seg..][..16]).try_into().expect("16 bytes");
        if iy < 0 || iy >= g.h as isize {
            *d = [pad; 16];
            continue;
        }
        let xrow = (b * g.h + iy as usize) * g.w;
        // The 16 bytes from tap 0's position, where they are inside `x` (a position left of
        // the row reads the previous pixels, masked here): the taps outside the row replaced
        // by `pad` with the mask (no call, no loop).
        let s = (xrow * g.c) as isize + ix0 * g.c as isize;
        if s >= 0 && s as usize + 16 <= x.len() {
            let win = &x[s as usize..][..16];
            // SAFETY: `win` and `d` hold 16 bytes each; every bit pattern is a valid u128 and
            // a valid i8; the accesses are unaligned.
            unsafe {
                let v = u128::from_le(win.as_ptr().cast::<u128>().read_unaligned());
                d.as_mut_ptr().cast::<u128>().write_unaligned(((v & keep) | (padv & !keep)).to_le());
            }
            continue;
        }
        // The image's first or last bytes: tap by tap.
        let mut v = [pad; 16];
        for kx in kx0..kx0 + nx {
            let src = (xrow + (ix0 + kx as isize) as usize) * g.c;
            for ci in 0..g.c {
                v[kx * g.c + ci] = x[src + ci];
            }
        }
        *d = v;
    }
}

/// The GEMM convolution for an input zero point outside the int8 range (padding cannot be
/// expressed by an input value): direct, portable, from the packed weights.
fn gemm_any_zp(g: &Conv2d, s: &GemmShape, x: &[i8], x_zp: i32, packed: &[u8], out: &Requant<'_>, y: &mut [i8]) {
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for o in 0..g.m {
                    let (grp, oi) = (o / s.mg, o % s.mg);
                    let panel = &packed[s.panel_at(g.m, grp, oi / NR)..][..s.panel_len];
                    let j = oi % NR;
                    let mut acc = 0i32;
                    for ky in 0..g.kh {
                        let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
                        for kx in 0..g.kw {
                            let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_left as isize;
                            if iy < 0 || iy >= g.h as isize || ix < 0 || ix >= g.w as isize {
                                continue;
                            }
                            let xi = ((b * g.h + iy as usize) * g.w + ix as usize) * g.c + grp * s.cg;
                            for ci in 0..s.cg {
                                let kk = (ky * g.kw + kx) * s.cg + ci;
                                let wv = panel[(kk / 4) * 4 * NR + 4 * j + kk % 4] as i8 as i32;
                                acc = acc.wrapping_add((x[xi + ci] as i32).wrapping_sub(x_zp).wrapping_mul(wv));
                            }
                        }
                    }
                    y[((b * g.oh + oy) * g.ow + ox) * g.m + o] = out.apply(o, acc);
                }
            }
        }
    }
}

/// [`tap_range`] with dilation 1, without a loop.
fn tap_range1(o: usize, stride: usize, pad: usize, size: usize, taps: usize) -> (usize, usize) {
    let i0 = (o * stride) as isize - pad as isize;
    let first = (-i0).clamp(0, taps as isize) as usize;
    let end = (size as isize - i0).clamp(0, taps as isize) as usize;
    if end > first { (first, end - first) } else { (0, 0) }
}

/// The range of kernel offsets `k` whose input coordinate `o * stride + k * dil - pad` is in
/// `0..size`: `(first, count)`.
fn tap_range(o: usize, stride: usize, dil: usize, pad: usize, size: usize, taps: usize) -> (usize, usize) {
    let mut first = None;
    let mut count = 0;
    for k in 0..taps {
        let i = (o * stride + k * dil) as isize - pad as isize;
        if i >= 0 && i < size as isize {
            first.get_or_insert(k);
            count += 1;
        }
    }
    (first.unwrap_or(0), count)
}

/// Depthwise (multiplier 1) convolution: per run of output pixels with the same taps, the ISA
/// for blocks of 16 channels (the last one overlapping when 16 does not divide `c`), the
/// portable code for fewer than 16 channels.
fn depthwise<K: Q8>(k: K, g: &Conv2d, x: &[i8], x_zp: i32, w: &[i8], rq: &Rq<'_>, y: &mut [i8]) {
    let c = g.c;
    let blocks = c / 16;
    let w = &w[..g.kh * g.kw * c];
    for b in 0..g.n {
        for oy in 0..g.oh {
            let (ky0, ny) = tap_range(oy, g.sh, g.dh, g.pad_top, g.h, g.kh);
            let mut ox = 0;
            while ox < g.ow {
                // A run of pixels with the same taps inside the image.
                let (kx0, nx) = tap_range(ox, g.sw, g.dw, g.pad_left, g.w, g.kw);
                let mut end = ox + 1;
                while end < g.ow && tap_range(end, g.sw, g.dw, g.pad_left, g.w, g.kw) == (kx0, nx) {
                    end += 1;
                }
                let npix = end - ox;
                let taps = if ny == 0 || nx == 0 {
                    DwTaps { npix, x_px: 0, x0: 0, x_dy: 0, x_dx: 0, ny: 0, nx: 0, t0: 0, t_dy: 0 }
                } else {
                    let iy0 = oy * g.sh + ky0 * g.dh - g.pad_top;
                    let ix0 = ox * g.sw + kx0 * g.dw - g.pad_left;
                    DwTaps {
                        npix,
                        x_px: g.sw * c,
                        x0: ((b * g.h + iy0) * g.w + ix0) * c,
                        x_dy: g.dh * g.w * c,
                        x_dx: g.dw * c,
                        ny,
                        nx,
                        t0: ky0 * g.kw + kx0,
                        t_dy: g.kw,
                    }
                };
                let yp = &mut y[((b * g.oh + oy) * g.ow + ox) * c..][..npix * c];
                if blocks > 0 {
                    k.dw_pixel(x, c, &taps, w, blocks, x_zp, rq, yp);
                }
                if !c.is_multiple_of(16) && blocks > 0 {
                    // The last 16 channels as one more block, overlapping the previous one:
                    // the overlap is written twice with the same values.
                    let s = c - 16;
                    let rs = Rq { cb: &rq.cb[s..], mult: &rq.mult[s..], shift: &rq.shift[s..], ..*rq };
                    k.dw_pixel(&x[s..], c, &taps, &w[s..], 1, x_zp, &rs, &mut yp[s..]);
                } else if blocks == 0 {
                    Portable::dw_channels(x, c, &taps, w, (0, c), x_zp, rq, yp);
                }
                ox = end;
            }
        }
    }
}

/// The packed weights' bytes as i8.
fn bytes_as_i8(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size, alignment and valid bit patterns; the new slice
    // covers exactly the same memory with the same lifetime.
    unsafe { core::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
}

/// The i32 scratch as bytes (im2col rows live there).
fn i32_as_i8(s: &mut [i32]) -> &mut [i8] {
    // SAFETY: every bit pattern is a valid i8, i8 has alignment 1, and the byte slice covers
    // exactly the memory of `s`, borrowed mutably for the same lifetime.
    unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<i8>(), s.len() * 4) }
}

#[cfg(test)]
mod tests {
    use super::{tap_range, tap_range1};

    #[test]
    fn tap_range1_is_tap_range_with_dilation_1() {
        for o in 0..12 {
            for stride in 1..4 {
                for pad in 0..5 {
                    for size in 0..10 {
                        for taps in 1..7 {
                            assert_eq!(
                                tap_range1(o, stride, pad, size, taps),
                                tap_range(o, stride, 1, pad, size, taps)
                            );
                        }
                    }
                }
            }
        }
    }
}
