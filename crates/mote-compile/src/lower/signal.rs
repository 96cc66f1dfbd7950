//! Signal ops: DFT and STFT, one runtime step each, with the twiddle table computed here (in
//! f64, stored as f32 weights) so the device needs no trigonometry. `dft_length`, `axis`,
//! `frame_step` and `frame_length` must be constants.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::signal::SignalOp;
use mote_kernels::reference::signal::ref_dft_twiddles;
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &SignalOp) -> R<()> {
    match op {
        SignalOp::Dft { inverse, onesided } => dft(l, n, *inverse, *onesided),
        SignalOp::Stft { onesided } => stft(l, n, *onesided),
        SignalOp::MelWeightMatrix { .. } => mel(l, n),
        _ => bail!("{} is not supported by the compiled path yet (it folds when its inputs are constant)", n.op.name()),
    }
}

/// MelWeightMatrix with a run-time sample rate and band edges (the number of bins and the DFT
/// length decide the shape, so they are constants).
fn mel(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let mels = const_int(l, n, 0, "num_mel_bins")?.ok_or("num_mel_bins is missing")?;
    let dft = const_int(l, n, 1, "dft_length")?.ok_or("dft_length is missing")?;
    let (Ok(mels), Ok(dft)) = (u32::try_from(mels), u32::try_from(dft)) else {
        bail!("MelWeightMatrix needs num_mel_bins >= 0 and dft_length > 0, got {mels} and {dft}");
    };
    let ins = vec![Some(l.input(n, 2)?), Some(l.input(n, 3)?), Some(l.input(n, 4)?)];
    let y = l.output(n, 0)?;
    if !matches!(l.p.tensors[y].dtype, DType::F32 | DType::F64) {
        bail!("MelWeightMatrix to {} is not supported by the compiled path (f32 and f64)", l.p.tensors[y].dtype);
    }
    l.p.step(OpCode::MelWeightMatrix, ins, vec![y], encode::mel(mels as usize, dft as usize), &n.name);
    Ok(())
}

/// The constant scalar integer input `i` of `n`, if given.
fn const_int(l: &Lowerer<'_>, n: &Node, i: usize, what: &str) -> R<Option<i64>> {
    let Some(v) = n.input(i) else { return Ok(None) };
    let t = l.konst(v).ok_or_else(|| format!("{what} must be a constant to compile (fix it with --const)"))?;
    match t.to_i64_vec().map_err(|e| e.to_string())?.as_slice() {
        [x] => Ok(Some(*x)),
        _ => bail!("{what} must be a scalar"),
    }
}

/// The f32 twiddle table `exp(-2πi j / n)`, `[n, 2]`, as a weight.
fn twiddles(l: &mut Lowerer<'_>, n: usize, name: &str) -> usize {
    let mut tw = vec![0f64; 2 * n];
    ref_dft_twiddles(n, &mut tw);
    let tw: Vec<f32> = tw.iter().map(|&x| x as f32).collect();
    l.weight_f32(vec![n, 2], &tw, &format!("{name}.twiddles"))
}

fn want_f32(l: &Lowerer<'_>, t: usize, what: &str) -> R<()> {
    let d = l.p.tensors[t].dtype;
    if d != DType::F32 {
        bail!("{what} on {d} is not supported by the compiled path (f32 only)");
    }
    Ok(())
}

fn dft(l: &mut Lowerer<'_>, n: &Node, inverse: bool, onesided: bool) -> R<()> {
    let x = l.input(n, 0)?;
    want_f32(l, x, "DFT")?;
    let dims = l.p.tensors[x].dims.clone();
    let r = dims.len();
    if r < 2 || !(1..=2).contains(&dims[r - 1]) {
        bail!("DFT input {dims:?} must have rank >= 2 and a last axis of 1 or 2");
    }
    let ax = const_int(l, n, 2, "axis")?.unwrap_or(-2);
    let a = if ax < 0 { ax + r as i64 } else { ax };
    if a < 0 || a >= r as i64 - 1 {
        bail!("DFT axis {ax} is out of range or the complex axis for shape {dims:?}");
    }
    let a = a as usize;
    let len = dims[a];
    let size = match const_int(l, n, 1, "dft_length")? {
        Some(s) if s > 0 => s as usize,
        Some(s) => bail!("dft_length must be positive, got {s}"),
        None if inverse && onesided => 2 * len.saturating_sub(1),
        None => len,
    };
    if size == 0 || size > u32::MAX as usize {
        bail!("DFT length {size} is not supported");
    }
    let (outer, inner): (usize, usize) = (dims[..a].iter().product(), dims[a + 1..r - 1].iter().product());
    let y = l.output(n, 0)?;
    let tw = twiddles(l, size, &n.name);
    let attrs = encode::dft(outer, len, inner, dims[r - 1], size, onesided, inverse);
    l.p.step(OpCode::Dft, vec![Some(x), Some(tw)], vec![y], attrs, &n.name);
    Ok(())
}

fn stft(l: &mut Lowerer<'_>, n: &Node, onesided: bool) -> R<()> {
    let x = l.input(n, 0)?;
    want_f32(l, x, "STFT")?;
    let [batch, len, ch] = <[usize; 3]>::try_from(l.p.tensors[x].dims.clone())
        .map_err(|_| "STFT signal must have shape [batch, length, 1 or 2]")?;
    let step = const_int(l, n, 1, "frame_step")?.ok_or("frame_step is required")?;
    let window = n.input(2).map(|_| l.input(n, 2)).transpose()?;
    let wlen = match window {
        Some(w) => {
            want_f32(l, w, "STFT window")?;
            match *l.p.tensors[w].dims.as_slice() {
                [k] => Some(k),
                ref d => bail!("window must be 1-D, got {d:?}"),
            }
        }
        None => None,
    };
    let fl = match (const_int(l, n, 3, "frame_length")?, wlen) {
        (Some(f), Some(w)) if f != w as i64 => bail!("frame_length {f} differs from the window length {w}"),
        (Some(f), _) if f <= 0 => bail!("frame_length must be positive, got {f}"),
        (Some(f), _) => f as usize,
        (None, Some(w)) => w,
        (None, None) => len,
    };
    if step <= 0 || step > u32::MAX as i64 || fl == 0 || fl > len || !(1..=2).contains(&ch) {
        bail!("STFT with frame_step {step}, frame length {fl} over {len} samples of {ch} channels is not valid");
    }
    let y = l.output(n, 0)?;
    let tw = twiddles(l, fl, &n.name);
    let attrs = encode::stft(batch, len, ch, step as usize, fl, onesided);
    l.p.step(OpCode::Stft, vec![Some(x), Some(tw), window], vec![y], attrs, &n.name);
    Ok(())
}
