//! Deterministic int8 test cases shared by the native tests and the cross-ISA identity check
//! (`tests/int8.rs`, the wasm test crate): random convolutions and element-wise ops run by a
//! fast path and by the reference, hashed.

#![allow(dead_code)]

use mote_kernels::fast::Cpu;
use mote_kernels::fast::int8 as fast;
use mote_kernels::reference::fixed::quantize_multiplier;
use mote_kernels::reference::int8::{self as reference, AddParams, Conv2d, MulParams, Pool2d, Requant, SoftmaxParams};

/// xorshift64*: a tiny deterministic generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
    pub fn bytes(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.next() as i8).collect()
    }
}

/// FNV-1a over bytes.
pub fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

/// A convolution with its data and output stage.
pub struct ConvCase {
    pub g: Conv2d,
    pub x: Vec<i8>,
    pub x_zp: i32,
    pub w: Vec<i8>,
    pub bias: Vec<i32>,
    pub mult: Vec<i32>,
    pub shift: Vec<i32>,
    pub zp: i32,
    pub lo: i32,
    pub hi: i32,
}

impl ConvCase {
    /// A random case: kind 0 pointwise/FC, 1 general kxk, 2 grouped, 3 depthwise (mult. 1),
    /// 4 depthwise with a channel multiplier.
    pub fn random(r: &mut Rng, kind: u32) -> ConvCase {
        let n = r.range(1, 2) as usize;
        let (h, w) = (r.range(1, 9) as usize, r.range(1, 9) as usize);
        let (groups, cg, mg, kh, kw) = match kind {
            0 => (1, r.range(1, 70) as usize, r.range(1, 40) as usize, 1, 1),
            1 => (1, r.range(1, 20) as usize, r.range(1, 40) as usize, r.range(1, 4) as usize, r.range(1, 4) as usize),
            2 => (
                r.range(2, 3) as usize,
                r.range(1, 9) as usize,
                r.range(1, 20) as usize,
                r.range(1, 3) as usize,
                r.range(1, 3) as usize,
            ),
            3 => (r.range(1, 50) as usize, 1, 1, r.range(1, 5) as usize, r.range(1, 5) as usize),
            _ => (r.range(1, 20) as usize, 1, r.range(2, 3) as usize, r.range(1, 3) as usize, r.range(1, 3) as usize),
        };
        let (c, m) = (groups * cg, groups * mg);
        let pointwise = kind == 0 && r.range(0, 3) > 0;
        let (sh, sw) = if pointwise { (1, 1) } else { (r.range(1, 3) as usize, r.range(1, 3) as usize) };
        let (dh, dw) = if pointwise { (1, 1) } else { (r.range(1, 2) as usize, r.range(1, 2) as usize) };
        let (pad_top, pad_left) =
            if pointwise { (0, 0) } else { (r.range(0, kh as i64) as usize, r.range(0, kw as i64) as usize) };
        let out = |size: usize, k: usize, s: usize, d: usize, p: usize| {
            let span = d * (k - 1) + 1;
            (size + 2 * p).saturating_sub(span) / s + 1
        };
        let g = Conv2d {
            n,
            h,
            w,
            c,
            m,
            groups,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw,
            pad_top,
            pad_left,
            oh: out(h, kh, sh, dh, pad_top),
            ow: out(w, kw, sw, dw, pad_left),
        };
        let (xl, wl, _) = g.lens();
        let x_zp = match r.range(0, 5) {
            0 => -128,
            1 => 127,
            2 => 0,
            3 => r.range(-300, 300) as i32,
            _ => r.range(-128, 127) as i32,
        };
        let weight = |r: &mut Rng| if r.range(0, 9) == 0 { r.pick(&[-128, 127, -127]) } else { r.next() as i8 };
        let wv = (0..wl).map(|_| weight(r)).collect();
        let bias =
            (0..m).map(|_| if r.range(0, 3) == 0 { r.next() as i32 } else { r.range(-5000, 5000) as i32 }).collect();
        let mult = (0..m)
            .map(|_| match r.range(0, 9) {
                0 => i32::MIN,
                1 => r.next() as i32,
                2 => 0,
                _ => r.range(1 << 30, i32::MAX as i64) as i32,
            })
            .collect();
        let shift =
            (0..m).map(|_| if r.range(0, 7) == 0 { r.range(-40, 40) as i32 } else { r.range(-14, 2) as i32 }).collect();
        let (lo, hi) = match r.range(0, 4) {
            0 => (-128, 127),
            1 => (r.range(-128, 0) as i32, r.range(0, 127) as i32),
            2 => (r.range(-400, 0) as i32, r.range(0, 400) as i32),
            _ => {
                let a = r.range(-128, 127) as i32;
                (a, a)
            }
        };
        ConvCase { g, x: r.bytes(xl), x_zp, w: wv, bias, mult, shift, zp: r.range(-128, 127) as i32, lo, hi }
    }

    /// A fully connected layer: `rows` rows of `k` activations by `m` output channels (a 1x1
    /// convolution over `[1, 1, rows, k]`), random data and output stage.
    pub fn fc(r: &mut Rng, rows: usize, k: usize, m: usize) -> ConvCase {
        let mut case = ConvCase::random(r, 0);
        let mut g = case.g;
        (g.n, g.h, g.w, g.c, g.m, g.groups, g.oh, g.ow) = (1, 1, rows, k, m, 1, 1, rows);
        (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pad_top, g.pad_left) = (1, 1, 1, 1, 1, 1, 0, 0);
        case.g = g;
        case.x = r.bytes(rows * k);
        case.w = r.bytes(m * k);
        let per_channel = |r: &mut Rng, v: &[i32]| (0..m).map(|_| r.pick(v)).collect::<Vec<i32>>();
        case.bias = per_channel(r, &[-70_000, -1000, 0, 5, 4000, i32::MAX, i32::MIN]);
        case.mult = per_channel(r, &[1 << 30, 1_300_000_000, i32::MAX, i32::MIN, 0]);
        case.shift = per_channel(r, &[-12, -8, -5, 0, 1, -31, 3]);
        if !(-128..=127).contains(&case.x_zp) {
            case.x_zp = -128;
        }
        case
    }

    pub fn requant(&self) -> Requant<'_> {
        Requant { bias: &self.bias, mult: &self.mult, shift: &self.shift, zp: self.zp, lo: self.lo, hi: self.hi }
    }

    pub fn reference(&self) -> Vec<i8> {
        let mut y = vec![0; self.g.lens().2];
        reference::conv2d(&self.g, &self.x, self.x_zp, &self.w, &self.requant(), &mut y);
        y
    }

    pub fn fast(&self, cpu: Cpu) -> Vec<i8> {
        self.fast_in(cpu, fast::conv_scratch_len(&self.g).unwrap())
    }

    /// [`ConvCase::fast`] in a scratch of `len` i32 values (at least `conv_scratch_min`).
    pub fn fast_in(&self, cpu: Cpu, len: usize) -> Vec<i8> {
        let mut packed = vec![0u8; fast::conv_pack_len(&self.g).unwrap()];
        fast::conv_pack(&self.g, &self.w, &mut packed);
        let mut scratch = vec![0i32; len];
        // Poison the output and scratch: the kernel must write every output and not rely on
        // the scratch's contents.
        scratch.iter_mut().for_each(|v| *v = 0x5a5a_5a5a);
        let mut y = vec![0x33; self.g.lens().2];
        fast::conv2d(cpu, &self.g, &self.x, self.x_zp, &packed, &self.requant(), &mut y, &mut scratch);
        y
    }
}

/// A pooling case: average, max or mean over H and W, with its data.
pub struct PoolCase {
    /// 0 average, 1 max, 2 mean over H and W.
    pub kind: u32,
    pub g: Pool2d,
    pub x: Vec<i8>,
    pub lo: i32,
    pub hi: i32,
    pub x_zp: i32,
    pub mult: (i32, i32),
    pub y_zp: i32,
}

impl PoolCase {
    /// A pool of `kind` over `[n, h, w, c]` with a `k`-square window at stride `s` and padding
    /// `p` (the mean ignores the window), random data, clamp and requantization.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        r: &mut Rng,
        kind: u32,
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        k: (usize, usize),
        s: usize,
        p: usize,
    ) -> PoolCase {
        let (oh, ow) = if kind == 2 { (1, 1) } else { ((h + 2 * p - k.0) / s + 1, (w + 2 * p - k.1) / s + 1) };
        let g = Pool2d {
            n,
            h,
            w,
            c,
            m: c,
            groups: c,
            kh: k.0,
            kw: k.1,
            sh: s,
            sw: s,
            dh: 1,
            dw: 1,
            pad_top: p,
            pad_left: p,
            oh,
            ow,
        };
        let (lo, hi) = if r.range(0, 2) == 0 { (-128, 127) } else { (r.range(-128, 0) as i32, r.range(0, 127) as i32) };
        let mult = quantize_multiplier(r.range(1, 30_000) as f64 * 1e-4).unwrap();
        let x = r.bytes(n * h * w * c);
        PoolCase { kind, g, x, lo, hi, x_zp: r.range(-128, 127) as i32, mult, y_zp: r.range(-128, 127) as i32 }
    }

    /// A random small case of a random kind.
    pub fn random(r: &mut Rng) -> PoolCase {
        let kind = r.range(0, 2) as u32;
        let (h, w) = (r.range(1, 12) as usize, r.range(1, 12) as usize);
        let k = (r.range(1, h as i64) as usize, r.range(1, w as i64) as usize);
        let p = r.range(0, (k.0.min(k.1) - 1) as i64) as usize;
        let c = r.pick(&[1usize, 7, 16, 33, 64, 65, 130]);
        let (n, s) = (r.range(1, 2) as usize, r.range(1, 3) as usize);
        PoolCase::new(r, kind, n, h, w, c, k, s, p)
    }

    fn out_len(&self) -> usize {
        self.g.n * self.g.oh * self.g.ow * self.g.c
    }

    pub fn reference(&self) -> Vec<i8> {
        let (g, mut y) = (&self.g, vec![0x55i8; self.out_len()]);
        match self.kind {
            0 => reference::avg_pool(g, &self.x, self.lo, self.hi, &mut y),
            1 => reference::max_pool(g, &self.x, self.lo, self.hi, &mut y),
            _ => reference::mean_hw(g.n, g.h * g.w, g.c, &self.x, self.x_zp, self.mult, self.y_zp, &mut y),
        }
        y
    }

    pub fn fast(&self, cpu: Cpu) -> Vec<i8> {
        let (g, mut y) = (&self.g, vec![0x55i8; self.out_len()]);
        match self.kind {
            0 => fast::avg_pool(cpu, g, &self.x, self.lo, self.hi, &mut y),
            1 => fast::max_pool(cpu, g, &self.x, self.lo, self.hi, &mut y),
            _ => fast::mean_hw(cpu, g.n, g.h * g.w, g.c, &self.x, self.x_zp, self.mult, self.y_zp, &mut y),
        }
        y
    }
}

/// Random int8 Add parameters.
pub fn add_params(r: &mut Rng) -> AddParams {
    let (sa, sb, sy) = (r.range(1, 100) as f64 * 1e-3, r.range(1, 100) as f64 * 1e-3, r.range(1, 100) as f64 * 1e-3);
    let twice = 2.0 * sa.max(sb);
    AddParams {
        a_zp: r.range(-128, 127) as i32,
        b_zp: r.range(-128, 127) as i32,
        y_zp: r.range(-128, 127) as i32,
        left_shift: 20,
        a_mult: quantize_multiplier(sa / twice).unwrap(),
        b_mult: quantize_multiplier(sb / twice).unwrap(),
        y_mult: quantize_multiplier(twice / ((1 << 20) as f64 * sy)).unwrap(),
        lo: r.range(-128, -100) as i32,
        hi: r.range(0, 127) as i32,
    }
}

/// Random int8 Mul parameters: multipliers from 1e-4 to 8 (right and left shifts), any clamp.
pub fn mul_params(r: &mut Rng) -> MulParams {
    let (lo, hi) = if r.range(0, 1) == 0 { (-128, 127) } else { (r.range(-128, 0) as i32, r.range(0, 127) as i32) };
    MulParams {
        a_zp: r.range(-128, 127) as i32,
        b_zp: r.range(-128, 127) as i32,
        y_zp: r.range(-128, 127) as i32,
        mult: quantize_multiplier(r.range(1, 80_000) as f64 * 1e-4).unwrap(),
        lo,
        hi,
    }
}

/// Runs `count` random cases of every kind through `cpu`'s int8 path and the reference; returns
/// the hashes of all the fast outputs and of all the reference outputs.
pub fn digest(cpu: Cpu, seed: u64, count: usize) -> (u64, u64) {
    let (mut hf, mut hr) = (0xcbf2_9ce4_8422_2325u64, 0xcbf2_9ce4_8422_2325u64);
    let mut r = Rng(seed | 1);
    let bytes = |v: &[i8]| v.iter().map(|&b| b as u8).collect::<Vec<u8>>();
    for i in 0..count {
        let case = ConvCase::random(&mut r, (i % 5) as u32);
        fnv(&mut hf, &bytes(&case.fast(cpu)));
        fnv(&mut hr, &bytes(&case.reference()));
        // Element-wise ops: either operand may broadcast.
        let len = r.range(1, 200) as usize;
        let (alen, blen) = match r.range(0, 5) {
            0 => (len, 1),
            1 => (1, len),
            _ => (len, len),
        };
        let (a, b) = (r.bytes(alen), r.bytes(blen));
        let p = add_params(&mut r);
        let (mut yf, mut yr) = (vec![0i8; len], vec![0i8; len]);
        fast::add(cpu, &p, &a, &b, &mut yf);
        reference::add(&p, &a, &b, &mut yr);
        fnv(&mut hf, &bytes(&yf));
        fnv(&mut hr, &bytes(&yr));
        let mp = mul_params(&mut r);
        fast::mul(cpu, &mp, &a, &b, &mut yf);
        reference::mul(&mp, &a, &b, &mut yr);
        fnv(&mut hf, &bytes(&yf));
        fnv(&mut hr, &bytes(&yr));
        let a = if alen == len { a } else { b };
        let sp = SoftmaxParams::new(1.0, r.range(1, 100) as f64 * 1e-2).unwrap();
        fast::softmax(cpu, &sp, len, &a, &mut yf);
        reference::softmax(&sp, len, &a, &mut yr);
        fnv(&mut hf, &bytes(&yf));
        fnv(&mut hr, &bytes(&yr));
        let (rows, k, m) = (r.range(1, 3) as usize, r.range(1, 200) as usize, r.range(1, 150) as usize);
        let fc = ConvCase::fc(&mut r, rows, k, m);
        fnv(&mut hf, &bytes(&fc.fast(cpu)));
        fnv(&mut hr, &bytes(&fc.reference()));
        let pool = PoolCase::random(&mut r);
        fnv(&mut hf, &bytes(&pool.fast(cpu)));
        fnv(&mut hr, &bytes(&pool.reference()));
    }
    (hf, hr)
}
