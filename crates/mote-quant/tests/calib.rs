//! Calibration data sources: files, folders per sample, .npz, .wav chunks, TOML; clear errors.

use std::io::Write;
use std::path::{Path, PathBuf};

use mote_core::DType;
use mote_ir::{Dim, Graph, Tensor, TensorType, Value, ValueType};
use mote_quant::calib::{CalibConfig, CalibSet};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-quant-calib-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A graph with the given f32 inputs (shapes with `None` = symbolic) and no nodes.
fn graph(inputs: &[(&str, &[Option<usize>])]) -> Graph {
    let mut g = Graph::new("g");
    for (name, shape) in inputs {
        let dims = shape.iter().map(|d| d.map_or(Dim::Sym("N".into()), Dim::Known)).collect();
        let id = g.add_value(*name, ValueType::Tensor(TensorType { dtype: Some(DType::F32), shape: Some(dims) }));
        g.inputs.push(id);
        g.outputs.push(id);
    }
    g
}

fn npy(path: &Path, shape: Vec<usize>, v: Vec<f32>) {
    mote_data::write_npy(path, &Tensor::from_vec(shape, v).unwrap()).unwrap();
}

fn cfg(files: Vec<PathBuf>) -> CalibConfig {
    CalibConfig { files, ..Default::default() }
}

fn values(s: &[(String, Value)]) -> Vec<(String, Vec<f32>)> {
    s.iter()
        .map(|(n, v)| match v {
            Value::Tensor(t) => (n.clone(), t.to_f32_vec().unwrap()),
            _ => panic!(),
        })
        .collect()
}

#[test]
fn folder_of_files_and_folder_per_sample() {
    let d = tmp("folders");
    npy(&d.join("b.npy"), vec![1, 2], vec![3.0, 4.0]);
    npy(&d.join("a.npy"), vec![1, 2], vec![1.0, 2.0]);
    std::fs::write(d.join("notes.txt"), "ignored").unwrap();
    let g = graph(&[("x", &[None, Some(2)])]);
    let set = CalibSet::build(&g, &cfg(vec![d.clone()])).unwrap();
    assert_eq!(set.len(), 2);
    assert_eq!(values(&set.load(0).unwrap()), vec![("x".to_string(), vec![1.0, 2.0])]);

    // Two inputs: a folder per sample with <name>.npy or input_<i>.pb.
    let d2 = tmp("per-sample");
    for k in 0..3 {
        let s = d2.join(format!("s{k}"));
        std::fs::create_dir_all(&s).unwrap();
        npy(&s.join("x.npy"), vec![1, 2], vec![k as f32, 0.0]);
        let t = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, k as f32]).unwrap();
        let bytes = mote_onnx::encode_value(&Value::Tensor(t), "y");
        std::fs::write(s.join("input_1.pb"), bytes).unwrap();
    }
    let g2 = graph(&[("x", &[None, Some(2)]), ("y", &[Some(3)])]);
    let set = CalibSet::build(&g2, &cfg(vec![d2.clone()])).unwrap();
    assert_eq!(set.len(), 3);
    let s = values(&set.load(2).unwrap());
    assert_eq!(s, vec![("x".to_string(), vec![2.0, 0.0]), ("y".to_string(), vec![1.0, 2.0, 2.0])]);
    // A loose file for a two-input model is refused with the way out.
    let e = format!("{:#}", CalibSet::build(&g2, &cfg(vec![d.join("a.npy")])).unwrap_err());
    assert!(e.contains("a.npy") && e.contains("2 inputs") && e.contains(".npz"), "{e}");
    // A missing file in a sample folder names the folder and the candidates.
    std::fs::remove_file(d2.join("s1/input_1.pb")).unwrap();
    let e = format!("{:#}", set.load(1).unwrap_err());
    assert!(e.contains("s1") && e.contains("input_1.pb") && e.contains("`y`"), "{e}");
    std::fs::remove_dir_all(&d).ok();
    std::fs::remove_dir_all(&d2).ok();
}

#[test]
fn npz_arrays_by_input_name() {
    let d = tmp("npz");
    let (xa, ya) = (d.join("x.npy"), d.join("y.npy"));
    npy(&xa, vec![1, 2], vec![5.0, 6.0]);
    npy(&ya, vec![3], vec![7.0, 8.0, 9.0]);
    let z = d.join("s.npz");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (n, p) in [("x.npy", &xa), ("y.npy", &ya)] {
        w.start_file(n, stored).unwrap();
        w.write_all(&std::fs::read(p).unwrap()).unwrap();
    }
    w.finish().unwrap();
    let g = graph(&[("x", &[None, Some(2)]), ("y", &[Some(3)])]);
    let set = CalibSet::build(&g, &cfg(vec![z.clone()])).unwrap();
    let s = values(&set.load(0).unwrap());
    assert_eq!(s[1], ("y".to_string(), vec![7.0, 8.0, 9.0]));
    let g3 = graph(&[("x", &[None, Some(2)]), ("z", &[Some(3)])]);
    let set = CalibSet::build(&g3, &cfg(vec![z])).unwrap();
    let e = format!("{:#}", set.load(0).unwrap_err());
    assert!(e.contains("s.npz") && e.contains("`z`") && e.contains("x, y"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

fn wav(path: &Path, rate: u32, channels: u16, n: usize) {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..n * channels as usize {
        w.write_sample((i as i16).wrapping_mul(97)).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn wav_chunks_and_refusals() {
    let d = tmp("wav");
    wav(&d.join("a.wav"), 16_000, 1, 2500);
    let g = graph(&[("audio", &[Some(1), Some(1000)])]);
    let set = CalibSet::build(&g, &cfg(vec![d.join("a.wav")])).unwrap();
    assert_eq!(set.len(), 2, "two whole chunks of the input's 1000 samples");
    let s = values(&set.load(1).unwrap());
    assert_eq!(s[0].1.len(), 1000);
    assert_eq!(s[0].1[0], (1000i16.wrapping_mul(97)) as f32 / 32768.0);
    let set =
        CalibSet::build(&g, &CalibConfig { wav_chunk: Some(1000), max_samples: Some(1), ..cfg(vec![d.join("a.wav")]) })
            .unwrap();
    assert_eq!(set.len(), 1);
    wav(&d.join("b.wav"), 8_000, 1, 100);
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("b.wav")])).unwrap_err());
    assert!(e.contains("b.wav") && e.contains("8000 Hz") && e.contains("resample"), "{e}");
    wav(&d.join("c.wav"), 16_000, 2, 100);
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("c.wav")])).unwrap_err());
    assert!(e.contains("c.wav") && e.contains("mono"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn bad_inputs_name_the_file() {
    let d = tmp("bad");
    let g = graph(&[("x", &[None, Some(2)])]);
    // Wrong dtype and shape, garbage, images without a spec, nothing at all.
    mote_data::write_npy(&d.join("f64.npy"), &Tensor::from_vec(vec![1, 2], vec![1.0f64, 2.0]).unwrap()).unwrap();
    let set = CalibSet::build(&g, &cfg(vec![d.join("f64.npy")])).unwrap();
    let e = format!("{:#}", set.load(0).unwrap_err());
    assert!(e.contains("f64.npy") && e.contains("astype"), "{e}");
    npy(&d.join("shape.npy"), vec![1, 3], vec![0.0; 3]);
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("shape.npy")])).unwrap().load(0).unwrap_err());
    assert!(e.contains("shape.npy") && e.contains("[1, 3]"), "{e}");
    std::fs::write(d.join("junk.npy"), b"not numpy").unwrap();
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("junk.npy")])).unwrap().load(0).unwrap_err());
    assert!(e.contains("junk.npy"), "{e}");
    std::fs::write(d.join("p.png"), b"x").unwrap();
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("p.png")])).unwrap_err());
    assert!(e.contains("p.png") && e.contains("--image-spec"), "{e}");
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("absent")])).unwrap_err());
    assert!(e.contains("absent") && e.contains("does not exist"), "{e}");
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![])).unwrap_err());
    assert!(e.contains("--calib"), "{e}");
    std::fs::write(d.join("t.txt"), "x").unwrap();
    let e = format!("{:#}", CalibSet::build(&g, &cfg(vec![d.join("t.txt")])).unwrap_err());
    assert!(e.contains("t.txt") && e.contains(".npz"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn crops_of_npy_photos() {
    let d = tmp("crops");
    let px: Vec<u8> = (0..40 * 60 * 3).map(|i| (i % 251) as u8).collect();
    mote_data::write_npy(&d.join("p.npy"), &Tensor::from_vec(vec![40, 60, 3], px).unwrap()).unwrap();
    mote_data::write_npy(&d.join("faces.npy"), &Tensor::from_vec(vec![2, 5, 5], vec![0.5f64; 50]).unwrap()).unwrap();
    let g = graph(&[("img", &[Some(1), Some(3), Some(16), Some(16)])]);
    let c = CalibConfig {
        files: vec![d.join("p.npy")],
        image_spec: Some("size=16x16,layout=nchw,scale=1/255".into()),
        crops: Some(5),
        seed: Some(3),
        ..Default::default()
    };
    let set = CalibSet::build(&g, &c).unwrap();
    assert_eq!(set.len(), 5);
    let v = values(&set.load(4).unwrap());
    assert_eq!(v[0].1.len(), 3 * 16 * 16);
    assert!(v[0].1.iter().all(|&x| (0.0..=1.0).contains(&x)));
    let e = format!("{:#}", CalibSet::build(&g, &CalibConfig { files: vec![d.join("faces.npy")], ..c }).unwrap_err());
    assert!(e.contains("faces.npy") && e.contains("u8"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}
