//! Reading one sample's files: `.npy`, `.npz`, `.pb`, images, `.wav` chunks, sample folders.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mote_ir::{Tensor, Value};

use super::{InputInfo, Source};

/// The sample rate `.wav` files must have.
pub const WAV_RATE: u32 = 16_000;

/// Folder entries in name order (hidden files skipped).
pub fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    v.sort();
    Ok(v)
}

/// Files a sample may be read from.
pub fn is_data_file(p: &Path) -> bool {
    mote_data::image::is_image(p)
        || matches!(
            p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
            Some("npy" | "npz" | "pb" | "wav")
        )
}

/// The chunks of a mono 16 kHz `.wav`: `chunk` samples each (the whole clip when `None`); a
/// tail shorter than a chunk is dropped unless it is the only one.
pub fn wav_chunks(path: &Path, chunk: Option<usize>) -> Result<Vec<Source>> {
    let r =
        hound::WavReader::open(path).with_context(|| format!("`{}` is not a readable .wav file", path.display()))?;
    let spec = r.spec();
    check_wav(path, spec)?;
    let n = r.duration() as usize;
    let len = chunk.unwrap_or(n).max(1);
    let mut out: Vec<Source> =
        (0..n / len).map(|k| Source::Wav { path: path.to_path_buf(), start: k * len, len }).collect();
    if out.is_empty() && n > 0 {
        out.push(Source::Wav { path: path.to_path_buf(), start: 0, len });
    }
    Ok(out)
}

fn check_wav(path: &Path, spec: hound::WavSpec) -> Result<()> {
    if spec.channels != 1 {
        bail!(
            "`{}` has {} channels; calibration audio must be mono (e.g. sox in.wav -c 1 out.wav)",
            path.display(),
            spec.channels
        );
    }
    if spec.sample_rate != WAV_RATE {
        bail!(
            "`{}` is sampled at {} Hz; Mote does not resample: convert it to 16 kHz first (e.g. sox in.wav -r 16000 out.wav)",
            path.display(),
            spec.sample_rate
        );
    }
    Ok(())
}

/// Samples `start..start + len` of a mono `.wav` as f32 in [-1, 1], zero-padded.
fn read_wav(path: &Path, start: usize, len: usize) -> Result<Vec<f32>> {
    let mut r =
        hound::WavReader::open(path).with_context(|| format!("`{}` is not a readable .wav file", path.display()))?;
    let spec = r.spec();
    check_wav(path, spec)?;
    r.seek(start as u32).with_context(|| format!("`{}`: cannot seek to sample {start}", path.display()))?;
    let bad = || format!("`{}`: corrupt sample data", path.display());
    let mut v: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().take(len).collect::<Result<_, _>>().with_context(bad)?,
        hound::SampleFormat::Int => {
            let full = (1i64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            r.samples::<i32>()
                .take(len)
                .map(|s| s.map(|s| s as f32 / full))
                .collect::<Result<_, _>>()
                .with_context(bad)?
        }
    };
    v.resize(len, 0.0);
    Ok(v)
}

/// Audio as the input's declared shape: leading dims 1, the samples last.
fn audio_tensor(info: &InputInfo, samples: Vec<f32>) -> Result<Tensor> {
    let rank = info.ty.as_tensor().and_then(|t| t.shape.as_ref()).map_or(2, Vec::len).max(1);
    let mut shape = vec![1; rank];
    shape[rank - 1] = samples.len();
    Ok(Tensor::from_vec(shape, samples)?)
}

/// Reads one file for `info`.
fn read_file(info: &InputInfo, path: &Path) -> Result<Value> {
    mote_data::read_value(path, &info.ty, info.image.as_ref())
}

/// Reads every input of a sample, in input order.
pub fn read_sample(inputs: &[InputInfo], src: &Source) -> Result<Vec<(String, Value)>> {
    let named = |vs: Vec<Value>| inputs.iter().map(|i| i.name.clone()).zip(vs).collect();
    match src {
        Source::File(p) => Ok(named(vec![read_file(&inputs[0], p)?])),
        Source::Wav { path, start, len } => {
            let t = audio_tensor(&inputs[0], read_wav(path, *start, *len)?)?;
            Ok(named(vec![Value::Tensor(t)]))
        }
        Source::Crop(c) => {
            let spec = inputs[0].image.as_ref().context("random crops need an image spec")?;
            Ok(named(vec![Value::Tensor(c.tensor(spec)?)]))
        }
        Source::Npz(p) => read_npz(inputs, p).map(named),
        Source::Dir(d) => {
            inputs.iter().enumerate().map(|(i, info)| read_from_dir(d, i, info)).collect::<Result<_>>().map(named)
        }
    }
}

fn read_npz(inputs: &[InputInfo], path: &Path) -> Result<Vec<Value>> {
    let f = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f))
        .with_context(|| format!("`{}` is not a valid .npz archive", path.display()))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("`{}` has an unreadable entry name", path.display()))?;
    let mut out = Vec::new();
    for info in inputs {
        let want = format!("{}.npy", info.name);
        let entry = if names.contains(&want) {
            want
        } else if inputs.len() == 1 && names.len() == 1 {
            names[0].clone()
        } else {
            let arrays: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".npy")).collect();
            bail!(
                "`{}` has no array named `{}` (its arrays: {}); save it with np.savez(path, {}=...)",
                path.display(),
                info.name,
                arrays.join(", "),
                info.name
            );
        };
        let what = format!("`{entry}` in `{}`", path.display());
        let r = zip.by_name(&entry).with_context(|| format!("cannot read {what}"))?;
        out.push(Value::Tensor(mote_data::read_npy_from(r, &what)?));
    }
    Ok(out)
}

/// Input `i` of a sample folder: `input_<i>.pb`, `input_<i>.npy`, `<name>.npy`, `<name>.pb` or an
/// image named after the input.
fn read_from_dir(dir: &Path, i: usize, info: &InputInfo) -> Result<Value> {
    let mut names = vec![
        format!("input_{i}.pb"),
        format!("input_{i}.npy"),
        format!("{}.npy", info.name),
        format!("{}.pb", info.name),
    ];
    for ext in ["png", "jpg", "jpeg", "bmp"] {
        names.push(format!("{}.{ext}", info.name));
    }
    match names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        Some(p) => read_file(info, &p),
        None => {
            bail!("`{}` has no file for input {i} `{}` (looked for {})", dir.display(), info.name, names.join(", "))
        }
    }
}
