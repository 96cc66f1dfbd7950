//! `mote keygen | sign | pack | verify`: signed model packages (`mote-pkg`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use mote_ir::{Value, ValueType};
use mote_pkg::make::{self, EntrySpec, RoleKeys, RootSpec};
use mote_pkg::manifest::{Budgets, Golden, Manifest, TensorSig, Values};
use mote_pkg::{Device, Role, Trusted};

use crate::model_file::write_atomic;

const DAY: u64 = 86_400;

/// Now, in unix seconds.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Arguments of `mote keygen`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Make an ed25519 signing key: NAME.key (secret, mode 0600) and NAME.pub",
    after_help = "Example:\n  mote keygen -o keys/root1      writes keys/root1.key and keys/root1.pub"
)]
pub struct KeygenArgs {
    /// Path without extension.
    #[arg(long, short = 'o')]
    output: PathBuf,
}

pub fn keygen(a: KeygenArgs) -> Result<ExitCode> {
    let key = make::generate_key().map_err(anyhow::Error::msg)?;
    let (secret, public) = (a.output.with_extension("key"), a.output.with_extension("pub"));
    if secret.exists() {
        bail!("`{}` exists: refusing to overwrite a secret key", secret.display());
    }
    if let Some(d) = secret.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create `{}`", d.display()))?;
    }
    write_atomic(&secret, format!("{}\n", make::hex(&key.to_bytes())).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    }
    write_atomic(&public, format!("{}\n", make::hex(&key.verifying_key().to_bytes())).as_bytes())?;
    println!("wrote {} and {}", secret.display(), public.display());
    Ok(ExitCode::SUCCESS)
}

fn read_key(p: &Path) -> Result<SigningKey> {
    let s = std::fs::read_to_string(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    let b = make::unhex::<32>(&s).map_err(|e| anyhow::anyhow!("`{}`: {e}", p.display()))?;
    Ok(SigningKey::from_bytes(&b))
}

fn read_pub(p: &Path) -> Result<[u8; 32]> {
    let s = std::fs::read_to_string(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    make::unhex::<32>(&s).map_err(|e| anyhow::anyhow!("`{}`: {e}", p.display()))
}

/// The role of a metadata file.
fn role_of(bytes: &[u8]) -> Result<Role> {
    if bytes.len() < 9 || &bytes[..8] != mote_pkg::meta::META_MAGIC {
        bail!("not a Mote metadata file (no MOTEMETA magic)");
    }
    Role::from_code(bytes[8]).context("unknown metadata role")
}

const SIGN_HELP: &str = "\
Adds signatures to a metadata file (each holder of a key signs in turn: m-of-n), or makes a new
root: the keys and thresholds of the four roles (root, targets, snapshot, timestamp). A new root
that replaces an old one (key rotation) needs the threshold of the old root keys and of its own.

Examples:
  mote sign --new-root --root-key k/r1.pub --root-key k/r2.pub --threshold 2 \\
      --targets-key k/t.pub --snapshot-key k/s.pub --timestamp-key k/ts.pub -o repo/root.meta
  mote sign repo/root.meta --key k/r1.key
  mote sign repo/root.meta --key k/r2.key";

/// Arguments of `mote sign`.
#[derive(clap::Args, Debug)]
#[command(about = "Sign metadata (m-of-n), or make a new root of keys and thresholds", after_help = SIGN_HELP)]
pub struct SignArgs {
    /// The metadata file to sign (in place, or to -o).
    file: Option<PathBuf>,
    /// A secret key (.key) to sign with (repeatable).
    #[arg(long)]
    key: Vec<PathBuf>,
    /// Make a new root metadata file instead.
    #[arg(long)]
    new_root: bool,
    /// Root public keys (.pub, repeatable) of the new root.
    #[arg(long)]
    root_key: Vec<PathBuf>,
    /// How many root keys must sign.
    #[arg(long, default_value_t = 1)]
    threshold: u8,
    #[arg(long)]
    targets_key: Vec<PathBuf>,
    #[arg(long)]
    snapshot_key: Vec<PathBuf>,
    #[arg(long)]
    timestamp_key: Vec<PathBuf>,
    /// Version of the new root (1, or the previous root's + 1).
    #[arg(long, default_value_t = 1)]
    version: u32,
    /// Days until the new root expires.
    #[arg(long, default_value_t = 365)]
    expires_days: u64,
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
}

pub fn sign(a: SignArgs) -> Result<ExitCode> {
    let (mut meta, out) = if a.new_root {
        let keys = |v: &[PathBuf], t: u8| -> Result<RoleKeys> {
            Ok(RoleKeys { threshold: t, keys: v.iter().map(|p| read_pub(p)).collect::<Result<_>>()? })
        };
        let spec = RootSpec {
            version: a.version,
            expires: now() + a.expires_days * DAY,
            roles: [
                keys(&a.root_key, a.threshold)?,
                keys(&a.targets_key, 1)?,
                keys(&a.snapshot_key, 1)?,
                keys(&a.timestamp_key, 1)?,
            ],
        };
        let out = a.output.clone().context("--new-root needs -o FILE")?;
        (make::root(&spec).map_err(anyhow::Error::msg)?, out)
    } else {
        let f = a.file.clone().context("give the metadata file to sign, or --new-root")?;
        let bytes = std::fs::read(&f).with_context(|| format!("cannot read `{}`", f.display()))?;
        (bytes, a.output.clone().unwrap_or(f))
    };
    let role = role_of(&meta)?;
    for k in &a.key {
        meta = make::sign(&meta, role, &read_key(k)?).map_err(anyhow::Error::msg)?;
    }
    write_atomic(&out, &meta)?;
    println!("wrote {} ({role} metadata, {} signature(s) added)", out.display(), a.key.len());
    Ok(ExitCode::SUCCESS)
}

const PACK_HELP: &str = "\
Packs a compiled model with its manifest (input/output signature, golden input and the outputs
the model gives on it, budgets, runtime version, metrics) and signs the release: targets (the
model's name, version, target, length and SHA-256), snapshot and timestamp metadata, each with a
version (default: now, in seconds, so releases always increase) and an expiry.

Example:
  mote pack kws.mote --name kws --model-version 3 --target cortex-m4 --root repo/root.meta \\
      --targets-key k/t.key --snapshot-key k/s.key --timestamp-key k/ts.key \\
      --golden x.npy --latency-ms 5 -o kws-3.motepkg";

/// Arguments of `mote pack`.
#[derive(clap::Args, Debug)]
#[command(about = "Pack and sign a compiled model as a package for devices", after_help = PACK_HELP)]
pub struct PackArgs {
    /// The compiled model (.mote).
    model: PathBuf,
    #[arg(long)]
    name: String,
    /// The model's version; devices refuse anything older than what they run.
    #[arg(long)]
    model_version: u64,
    /// The device target (cortex-m4, aarch64, x86_64, wasm32...).
    #[arg(long)]
    target: String,
    /// The root the devices trust (for checking the signing keys here).
    #[arg(long)]
    root: PathBuf,
    /// Root updates to carry (key rotation), oldest first.
    #[arg(long)]
    root_update: Vec<PathBuf>,
    #[arg(long)]
    targets_key: Vec<PathBuf>,
    #[arg(long)]
    snapshot_key: Vec<PathBuf>,
    #[arg(long)]
    timestamp_key: Vec<PathBuf>,
    /// A golden input (.npy; NAME=FILE for several inputs, repeatable).
    #[arg(long)]
    golden: Vec<String>,
    /// Tolerance of the golden outputs.
    #[arg(long, default_value_t = 1e-4)]
    golden_atol: f32,
    #[arg(long)]
    latency_ms: Option<f64>,
    /// A text file of class labels, one per line.
    #[arg(long)]
    labels: Option<PathBuf>,
    #[arg(long)]
    preprocessing: Option<String>,
    /// Metadata version (default: now in unix seconds).
    #[arg(long)]
    meta_version: Option<u32>,
    /// Days until the targets and snapshot metadata expire (the timestamp: one day).
    #[arg(long, default_value_t = 30)]
    expires_days: u64,
    #[arg(long, short = 'o')]
    output: PathBuf,
}

fn sig(v: &ValueType, name: &str) -> TensorSig {
    match v {
        ValueType::Tensor(t) => TensorSig {
            name: name.to_string(),
            dtype: t.dtype.map_or("?".into(), |d| d.to_string()),
            shape: t.known_shape().unwrap_or_default(),
        },
        other => TensorSig { name: name.to_string(), dtype: format!("{other:?}"), shape: Vec::new() },
    }
}

fn values(v: &Value) -> Result<Values> {
    let t = v.as_tensor().context("a golden output is not a tensor")?;
    Ok(Values { shape: t.shape().to_vec(), data: t.to_f32_vec()? })
}

/// The manifest of the compiled model in `bytes`, with golden outputs computed by running it.
fn manifest(a: &PackArgs, bytes: &[u8]) -> Result<Manifest> {
    let rt = mote_rt::Runtime::load(bytes).with_context(|| format!("`{}` is not a valid .mote", a.model.display()))?;
    let g = crate::compiled::interface(&rt);
    let io = |ids: &[mote_ir::ValueId]| ids.iter().map(|&i| sig(&g.value(i).ty, &g.value(i).name)).collect();
    let (inputs, outputs): (Vec<TensorSig>, Vec<TensorSig>) = (io(&g.inputs), io(&g.outputs));
    let mut golden = Vec::new();
    if !a.golden.is_empty() {
        let mut named = Vec::new();
        for (k, spec) in a.golden.iter().enumerate() {
            let (name, file) = match spec.split_once('=') {
                Some((n, f)) => (n.to_string(), f),
                None => {
                    (inputs.get(k).map(|s| s.name.clone()).context("more golden files than inputs")?, spec.as_str())
                }
            };
            named.push((name, Value::Tensor(mote_data::read_npy(Path::new(file))?)));
        }
        let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
        let pool = crate::compiled::pool(&rt, 1)?;
        let outs = crate::compiled::run(&rt, &mut arena, &named, &pool)?;
        let ins = named.iter().map(|(_, v)| values(v)).collect::<Result<_>>()?;
        golden.push(Golden {
            inputs: ins,
            outputs: outs.iter().map(values).collect::<Result<_>>()?,
            atol: a.golden_atol,
        });
    }
    let labels = match &a.labels {
        Some(p) => std::fs::read_to_string(p)?.lines().map(str::to_string).collect(),
        None => Vec::new(),
    };
    let mut metrics = serde_json::Map::new();
    metrics.insert("model_bytes".into(), bytes.len().into());
    metrics.insert("arena_bytes".into(), rt.arena_size().into());
    Ok(Manifest {
        name: a.name.clone(),
        version: a.model_version,
        target: a.target.clone(),
        inputs,
        outputs,
        preprocessing: a.preprocessing.clone(),
        labels,
        golden,
        budgets: Budgets { latency_ms: a.latency_ms, memory_bytes: Some(rt.arena_size() as u64) },
        min_runtime: format!("{}.{}", mote_format::VERSION_MAJOR, mote_format::VERSION_MINOR),
        metrics,
    })
}

pub fn pack(a: PackArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&a.model).with_context(|| format!("cannot read `{}`", a.model.display()))?;
    let m = manifest(&a, &bytes)?;
    let payload = mote_pkg::payload::join(&serde_json::to_string(&m)?, &bytes).map_err(anyhow::Error::msg)?;
    let version = a.meta_version.unwrap_or_else(|| now().min(u64::from(u32::MAX)) as u32);
    let (t_exp, ts_exp) = (now() + a.expires_days * DAY, now() + DAY);
    let sign_all = |meta: Vec<u8>, role: Role, keys: &[PathBuf]| -> Result<Vec<u8>> {
        if keys.is_empty() {
            bail!("no --{}-key given", role.name());
        }
        keys.iter().try_fold(meta, |m, k| make::sign(&m, role, &read_key(k)?).map_err(anyhow::Error::msg))
    };
    let entry = EntrySpec::of(&a.name, a.model_version, &a.target, &payload);
    let t =
        sign_all(make::targets(version, t_exp, &[entry]).map_err(anyhow::Error::msg)?, Role::Targets, &a.targets_key)?;
    let s = make::pointer(Role::Snapshot, version, t_exp, &t, version).map_err(anyhow::Error::msg)?;
    let s = sign_all(s, Role::Snapshot, &a.snapshot_key)?;
    let ts = make::pointer(Role::Timestamp, version, ts_exp, &s, version).map_err(anyhow::Error::msg)?;
    let ts = sign_all(ts, Role::Timestamp, &a.timestamp_key)?;
    let updates: Vec<Vec<u8>> = a.root_update.iter().map(std::fs::read).collect::<std::io::Result<_>>()?;
    let refs: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
    let pkg = make::package(&refs, &t, &s, &ts, &payload).map_err(anyhow::Error::msg)?;
    // Check the package as a device will, so a wrong key is found here rather than on the fleet.
    let root = std::fs::read(&a.root).with_context(|| format!("cannot read `{}`", a.root.display()))?;
    let dev = Device { name: &a.name, target: &a.target, now: now(), max_metadata: u32::MAX, max_payload: u64::MAX };
    mote_pkg::verify(&pkg, &root, &Trusted::default(), &dev)
        .map_err(|e| anyhow::anyhow!("the package does not verify: {e}"))?;
    write_atomic(&a.output, &pkg)?;
    println!(
        "wrote {} ({} bytes: {} v{} for {}, metadata version {version})",
        a.output.display(),
        pkg.len(),
        a.name,
        a.model_version,
        a.target
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mote verify`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Verify a package as a device does: the metadata chain, then the payload hash",
    after_help = "Example:\n  mote verify kws-3.motepkg --root repo/root.meta --name kws --target cortex-m4\n\n\
Exits non-zero with the attack named (tampered payload, unknown key, signatures below threshold,\n\
rollback, freeze, mix-and-match, endless data, wrong target)."
)]
pub struct VerifyArgs {
    package: PathBuf,
    /// The root the device trusts.
    #[arg(long)]
    root: PathBuf,
    #[arg(long)]
    name: String,
    #[arg(long)]
    target: String,
    /// The model version the device runs (older packages are a rollback).
    #[arg(long, default_value_t = 0)]
    installed: u64,
    /// The time to check expiry at (unix seconds; default now).
    #[arg(long)]
    now: Option<u64>,
    /// Largest payload accepted, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    max_payload: u64,
    /// Write the verified payload here (manifest and model).
    #[arg(long)]
    extract: Option<PathBuf>,
    /// Write the verified model (.mote) here.
    #[arg(long)]
    extract_model: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let pkg = std::fs::read(&a.package).with_context(|| format!("cannot read `{}`", a.package.display()))?;
    let root = std::fs::read(&a.root).with_context(|| format!("cannot read `{}`", a.root.display()))?;
    let dev = Device {
        name: &a.name,
        target: &a.target,
        now: a.now.unwrap_or_else(now),
        max_metadata: 1 << 20,
        max_payload: a.max_payload,
    };
    let trusted = Trusted { model: a.installed, ..Trusted::default() };
    let v = match mote_pkg::verify(&pkg, &root, &trusted, &dev) {
        Ok(v) => v,
        Err(e) => {
            if a.json {
                println!("{}", serde_json::json!({"verified": false, "error": e.to_string()}));
                return Ok(ExitCode::FAILURE);
            }
            bail!("`{}`: {e}", a.package.display());
        }
    };
    let (manifest, model) = mote_pkg::payload::split(v.payload)?;
    let m: Manifest = serde_json::from_str(manifest).context("the manifest is not valid JSON")?;
    if let Some(p) = &a.extract {
        write_atomic(p, v.payload)?;
    }
    if let Some(p) = &a.extract_model {
        write_atomic(p, model)?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({"verified": true, "name": v.entry.name, "model_version": v.entry.model_version,
                "target": v.entry.target, "model_bytes": model.len(), "metadata_version": v.trusted.targets,
                "root_updated": v.new_root.is_some(), "manifest": m})
        );
    } else {
        println!(
            "verified: {} v{} for {} ({} bytes of model, {} golden input(s), metadata version {}{})",
            v.entry.name,
            v.entry.model_version,
            v.entry.target,
            model.len(),
            m.golden.len(),
            v.trusted.targets,
            if v.new_root.is_some() { ", root updated" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
