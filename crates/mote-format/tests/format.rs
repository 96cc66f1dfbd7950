//! Writer -> reader round trips, and corrupt files: every mutation is an error, never a panic.

use mote_core::DType;
use mote_format::write::{Builder, TensorDesc};
use mote_format::{FormatErrorKind, Layout, Model, OpCode, Storage};

/// An aligned copy of `bytes` (as a file read into `Vec<u64>` or mmapped would be).
fn aligned(bytes: &[u8]) -> Vec<u64> {
    let mut v = vec![0u64; bytes.len().div_ceil(8)];
    // Safe byte-level copy into the u64 buffer.
    for (i, b) in bytes.iter().enumerate() {
        v[i / 8] |= (*b as u64) << (8 * (i % 8));
    }
    v
}

fn as_bytes(v: &[u64], len: usize) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).take(len).collect()
}

fn parse_copy(bytes: &[u8]) -> Result<(), mote_format::FormatError> {
    let words = aligned(bytes);
    let view: &[u8] = &bytemuck_bytes(&words)[..bytes.len()];
    Model::parse(view).map(|_| ())
}

fn bytemuck_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding and any byte pattern is a valid u8; the length covers exactly
    // the words' memory.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}

fn arena(dims: &[u32], offset: u64, name: &str) -> TensorDesc {
    let n: u64 = dims.iter().map(|&d| d as u64).product();
    TensorDesc {
        dtype: DType::F32,
        dims: dims.to_vec(),
        storage: Storage::Arena,
        layout: Layout::Plain,
        layout_param: 0,
        offset,
        nbytes: n * 4,
        name: name.into(),
    }
}

fn sample() -> Vec<u8> {
    let mut b = Builder::new();
    b.meta("producer", "test").unwrap();
    let x = b.tensor(&arena(&[1, 4], 0, "x")).unwrap();
    let wdesc = TensorDesc { dtype: DType::F32, dims: vec![4], ..arena(&[4], 0, "w") };
    let w_bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let w = b.weight(&wdesc, &w_bytes).unwrap();
    let y = b.tensor(&arena(&[1, 4], 64, "y")).unwrap();
    b.step(OpCode::Binary, &[Some(x), Some(w)], &[y], &[7, 1, 2, 3], "add").unwrap();
    b.step(OpCode::Unary, &[Some(y), None], &[y], &[1], "relu").unwrap();
    b.input(x, "x").unwrap();
    b.output(y, "y").unwrap();
    b.plan(128, 128, 0, 32);
    b.finish().unwrap()
}

#[test]
fn round_trip() {
    let bytes = sample();
    let words = aligned(&bytes);
    let view = &bytemuck_bytes(&words)[..bytes.len()];
    let m = Model::parse(view).unwrap();
    m.verify_weights().unwrap();
    assert_eq!(m.tensor_count(), 3);
    assert_eq!(m.step_count(), 2);
    let s = m.step(0).unwrap();
    assert_eq!(
        (s.op, s.n_inputs(), s.input(1), s.output(0), s.attr(3), s.name),
        (OpCode::Binary, 2, Some(1), Some(2), 3, "add")
    );
    let s = m.step(1).unwrap();
    assert_eq!(s.input(1), None, "omitted optional input");
    let w = m.tensor(1).unwrap();
    assert_eq!((w.storage, w.dims(), w.name), (Storage::Weights, &[4u32][..], "w"));
    let wb = m.weight_bytes(&w).unwrap();
    assert_eq!(f32::from_le_bytes(wb[8..12].try_into().unwrap()), 3.0);
    assert_eq!(m.inputs().next().unwrap().name, "x");
    assert_eq!(m.outputs().next().unwrap().tensor, 2);
    assert_eq!(m.meta_value("producer"), Some("test"));
    assert_eq!(m.plan().arena_size, 128);
}

#[test]
fn truncation_and_padding_are_length_errors() {
    let bytes = sample();
    for cut in [0, 10, 63, 64, 200, bytes.len() - 1] {
        assert!(parse_copy(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let e = parse_copy(&longer).unwrap_err();
    assert!(matches!(e.kind, FormatErrorKind::LengthMismatch { .. }), "{e}");
}

#[test]
fn every_single_byte_flip_is_detected_or_harmless() {
    let bytes = sample();
    let (weights_start, weights_len) = {
        let words = aligned(&bytes);
        let m = Model::parse(&bytemuck_bytes(&words)[..bytes.len()]).unwrap();
        let w = m.weights();
        (w.as_ptr() as usize - bytemuck_bytes(&words).as_ptr() as usize, w.len())
    };
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            let r = parse_copy(&b);
            let in_weights = (weights_start..weights_start + weights_len).contains(&i);
            if in_weights {
                // Structure stays valid; the weights checksum catches it.
                let words = aligned(&b);
                let m = Model::parse(&bytemuck_bytes(&words)[..b.len()]).unwrap();
                assert!(m.verify_weights().is_err(), "weight byte {i}");
            } else if i < weights_start {
                assert!(r.is_err(), "flip at byte {i} went unnoticed");
            }
        }
    }
}

#[test]
fn bad_magic_and_version() {
    let mut b = sample();
    b[0] = b'X';
    assert_eq!(parse_copy(&b).unwrap_err().kind, FormatErrorKind::BadMagic);
    let mut b = sample();
    b[8] = 2;
    assert!(matches!(parse_copy(&b).unwrap_err().kind, FormatErrorKind::UnsupportedVersion { major: 2, .. }));
}

#[test]
fn misaligned_bytes_are_refused() {
    let bytes = sample();
    let words = aligned(&[&[0u8][..], &bytes].concat());
    let view = &bytemuck_bytes(&words)[1..bytes.len() + 1];
    assert_eq!(Model::parse(view).unwrap_err().kind, FormatErrorKind::Misaligned);
    let _ = as_bytes(&words, 1);
}

#[test]
fn reseal_restores_the_structure_checksum() {
    let bytes = sample();
    let mut same = bytes.clone();
    mote_format::crc::reseal(&mut same);
    assert_eq!(same, bytes, "resealing an intact file changes nothing");
    let mut edited = bytes.clone();
    edited[HEADER_EDIT] ^= 0x01;
    assert_eq!(parse_copy(&edited).unwrap_err().kind, FormatErrorKind::ChecksumMismatch);
    mote_format::crc::reseal(&mut edited);
    assert_ne!(parse_copy(&edited).map_err(|e| e.kind), Err(FormatErrorKind::ChecksumMismatch));
}

/// A reserved header byte: resealed, the file parses again.
const HEADER_EDIT: usize = 44;

/// The sample with output `y` ([1, 4] f32; arena bytes 128..192 free) and the SIGNATURE
/// records `sign` adds.
fn signed(sign: impl FnOnce(&mut Builder)) -> Vec<u8> {
    let mut b = Builder::new();
    let x = b.tensor(&arena(&[1, 4], 0, "x")).unwrap();
    let y = b.tensor(&arena(&[1, 4], 64, "y")).unwrap();
    b.step(OpCode::Unary, &[Some(x)], &[y], &[1], "relu").unwrap();
    b.input(x, "x").unwrap();
    b.output(y, "y").unwrap();
    sign(&mut b);
    b.plan(192, 192, 0, 32);
    b.finish().unwrap()
}

/// The sample with `output` marked by a SIGNATURE record of `kind` whose keys tensor is built
/// by `keys` (given the builder).
fn with_signature(kind: mote_format::OutputKind, keys: impl Fn(&mut Builder) -> u32, output: u32) -> Vec<u8> {
    signed(|b| {
        let k = keys(b);
        b.output_signature(output, kind, k);
    })
}

fn int_keys(n: usize) -> impl Fn(&mut Builder) -> u32 {
    move |b: &mut Builder| {
        let d =
            TensorDesc { dtype: DType::I64, dims: vec![n as u32], nbytes: 8 * n as u64, ..arena(&[n as u32], 0, "k") };
        let bytes: Vec<u8> = (0..n as i64).flat_map(|v| (v * 10).to_le_bytes()).collect();
        b.weight(&d, &bytes).unwrap()
    }
}

fn string_keys(pairs: Vec<(u32, u32)>) -> impl Fn(&mut Builder) -> u32 {
    move |b: &mut Builder| {
        let (a, _) = b.string_ref("alpha").unwrap();
        let mut bytes = Vec::new();
        for &(off, len) in &pairs {
            bytes.extend((a + off).to_le_bytes().into_iter().chain(len.to_le_bytes()));
        }
        let n = pairs.len() as u32;
        let d = TensorDesc { dtype: DType::U32, dims: vec![n, 2], nbytes: 8 * n as u64, ..arena(&[n, 2], 0, "k") };
        b.weight(&d, &bytes).unwrap()
    }
}

#[test]
fn output_signatures_round_trip_and_are_validated() {
    use mote_format::OutputKind::{Labels, ZipMap};
    let ok = with_signature(ZipMap, int_keys(4), 0);
    let words = aligned(&ok);
    let m = Model::parse(&bytemuck_bytes(&words)[..ok.len()]).unwrap();
    assert_eq!(m.minor_version(), mote_format::VERSION_MINOR);
    let s = m.output_signature(0).unwrap();
    assert_eq!((s.kind, s.len(), s.string_keys()), (ZipMap, 4, false));
    assert_eq!(m.signature_int_key(&s, 3), Some(30));
    assert_eq!(m.signature_int_key(&s, 4), None);
    let strs = with_signature(ZipMap, string_keys(vec![(0, 1), (1, 2), (0, 5), (5, 0)]), 0);
    let words = aligned(&strs);
    let m = Model::parse(&bytemuck_bytes(&words)[..strs.len()]).unwrap();
    let s = m.output_signature(0).unwrap();
    assert_eq!(m.signature_str_key(&s, 2), Some("alpha"));
    assert_eq!(m.signature_str_key(&s, 1), Some("lp"));
    // Files without signatures have no section and stay 1.0-readable in layout.
    let words = aligned(&sample());
    assert!(Model::parse(&bytemuck_bytes(&words)[..sample().len()]).unwrap().output_signature(0).is_none());
    let bad = |b: Vec<u8>| matches!(parse_copy(&b).unwrap_err().kind, FormatErrorKind::BadSignature);
    assert!(bad(with_signature(ZipMap, int_keys(3), 0)), "3 keys for 4 columns");
    assert!(bad(with_signature(ZipMap, int_keys(4), 1)), "no output 1");
    assert!(bad(with_signature(Labels, int_keys(4), 0)), "labels need an int64 output");
    assert!(bad(with_signature(ZipMap, string_keys(vec![(0, 1), (1, 2), (3, 9), (0, 0)]), 0)), "string past STRINGS");
    assert!(bad(with_signature(ZipMap, |b: &mut Builder| b.tensor(&arena(&[4], 0, "arena_keys")).unwrap(), 0)));
}

/// The sample with output `y` marked Bounded along `axis` by the tensor `count` builds.
fn with_bounded(count: impl Fn(&mut Builder) -> u32, axis: u32) -> Vec<u8> {
    signed(|b| {
        let k = count(b);
        b.output_signature_axis(0, mote_format::OutputKind::Bounded, k, axis);
    })
}

#[test]
fn bounded_output_signatures_name_a_count_and_an_axis() {
    use mote_format::OutputKind::Bounded;
    let count = |dtype: DType, n: u32| {
        move |b: &mut Builder| {
            let d = TensorDesc { dtype, nbytes: 8 * n as u64, ..arena(&[n], 128, "count") };
            b.tensor(&d).unwrap()
        }
    };
    let ok = with_bounded(count(DType::I64, 1), 1);
    let words = aligned(&ok);
    let m = Model::parse(&bytemuck_bytes(&words)[..ok.len()]).unwrap();
    let s = m.output_signature(0).unwrap();
    assert_eq!((s.kind, s.axis, s.keys.dtype), (Bounded, 1, DType::I64));
    let bad = |b: Vec<u8>| matches!(parse_copy(&b).unwrap_err().kind, FormatErrorKind::BadSignature);
    assert!(bad(with_bounded(count(DType::I64, 1), 2)), "axis past the output's rank");
    assert!(bad(with_bounded(count(DType::I64, 2), 0)), "a count of two elements");
    assert!(bad(with_bounded(count(DType::F64, 1), 0)), "a float count");
    // The other kinds keep the reserved word at 0.
    let zip_with_axis = signed(|b| {
        let k = int_keys(4)(b);
        b.output_signature_axis(0, mote_format::OutputKind::ZipMap, k, 1);
    });
    assert!(bad(zip_with_axis), "a ZipMap record with an axis");
}
