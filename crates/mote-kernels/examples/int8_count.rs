//! Runs one int8 convolution of the KWS DS-CNN `reps` times on one path, for counting executed
//! instructions under an emulator (scripts/arm-count.sh subtracts a run of 1 from a run of 2).
//! Usage: `int8_count <path name, e.g. dsp or scalar> <pw | dw> <reps>`; `pw` is a 1x1
//! convolution 64 -> 64 over 25 x 5 pixels, `dw` a 3x3 depthwise convolution of 64 channels
//! over 25 x 5 (padding 1).

use mote_kernels::fast::Cpu;
use mote_kernels::fast::int8::{self as fast, Conv2d, Q8Path, Requant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: int8_count <path> <pw | dw> <reps>";
    let (Some(path), Some(shape), Some(reps)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let Some(cpu) = Q8Path::ALL.iter().find(|p| p.name() == path).and_then(|&p| Cpu::with_q8(p)) else {
        eprintln!("int8 path {path:?} is not available on this machine");
        std::process::exit(2);
    };
    let Ok(reps) = reps.parse::<usize>() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let (groups, m, k, pad) = match shape.as_str() {
        "pw" => (1, 64, 1, 0),
        "dw" => (64, 64, 3, 1),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let (h, w, c) = (25, 5, 64);
    let g = Conv2d {
        n: 1,
        h,
        w,
        c,
        m,
        groups,
        kh: k,
        kw: k,
        sh: 1,
        sw: 1,
        dh: 1,
        dw: 1,
        pad_top: pad,
        pad_left: pad,
        oh: h,
        ow: w,
    };
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut byte = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as i8
    };
    let x: Vec<i8> = (0..h * w * c).map(|_| byte()).collect();
    let wt: Vec<i8> = (0..m * k * k * (c / groups)).map(|_| byte()).collect();
    let mut packed = vec![0u8; fast::conv_pack_len(&g).expect("geometry")];
    fast::conv_pack(&g, &wt, &mut packed);
    let mut scratch = vec![0i32; fast::conv_scratch_len(&g).expect("geometry")];
    let (bias, mult, shift) = (vec![100; m], vec![1 << 30; m], vec![-8; m]);
    let rq = Requant { bias: &bias, mult: &mult, shift: &shift, zp: -3, lo: -128, hi: 127 };
    let mut y = vec![0i8; h * w * m];
    for _ in 0..reps {
        fast::conv2d(cpu, &g, &x, 5, &packed, &rq, &mut y, &mut scratch);
    }
    let sum: i64 = y.iter().map(|&v| v as i64).sum();
    println!("{} {shape} x{reps}: output sum {sum}", cpu.q8().name());
}
