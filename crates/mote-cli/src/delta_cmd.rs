//! `mote delta`: tensor-aware deltas between packages (`mote_pkg::delta`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use mote_pkg::Device;

use crate::model_file::write_atomic;

const DELTA_HELP: &str = "\
Makes the update from an installed package to a new one as a tensor-aware delta: unchanged
tensors are copied, changed ones stored as the XOR with their old bits or as new bytes
(whichever compresses smaller), all compressed with zstd against the old payload. When the delta
would not be smaller than the new payload (e.g. f32 -> int8, where every tensor changes) it says
so and writes nothing: send the full package. A device rebuilds the payload with --apply and
installs it only if it hashes to the signed digest.

Examples:
  mote delta kws-2.motepkg kws-3.motepkg -o kws-2-3.motedelta
  mote delta kws-2.motepkg --apply kws-2-3.motedelta -o kws-3.payload";

/// Arguments of `mote delta`.
#[derive(clap::Args, Debug)]
#[command(about = "Make (or apply) a tensor-aware delta between two packages", after_help = DELTA_HELP)]
pub struct Args {
    /// The installed package (.motepkg) or payload.
    old: PathBuf,
    /// The new package (.motepkg) or payload.
    new: Option<PathBuf>,
    /// Apply this delta to OLD instead (writes the new payload).
    #[arg(long, conflicts_with = "new")]
    apply: Option<PathBuf>,
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// The payload of a package file (or the file itself when it is not a package), and the file's size.
fn payload_of(p: &Path) -> Result<(Vec<u8>, usize)> {
    let bytes = std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    if !bytes.starts_with(mote_pkg::verify::PKG_MAGIC) {
        let n = bytes.len();
        return Ok((bytes, n));
    }
    let dev = Device { name: "", target: "", now: 0, max_metadata: u32::MAX, max_payload: u64::MAX };
    let s = mote_pkg::verify::Sections::parse(&bytes, &dev).with_context(|| format!("`{}`", p.display()))?;
    let (payload, _) = s.payload.with_context(|| format!("`{}` has no payload", p.display()))?;
    Ok((payload.to_vec(), bytes.len()))
}

pub fn main(a: Args) -> Result<ExitCode> {
    let (old, _) = payload_of(&a.old)?;
    if let Some(d) = &a.apply {
        let delta = std::fs::read(d).with_context(|| format!("cannot read `{}`", d.display()))?;
        let new = mote_pkg::delta::apply(&old, &delta, mote_pkg::delta::MAX_PAYLOAD)
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", d.display()))?;
        let out = a.output.context("--apply needs -o FILE for the rebuilt payload")?;
        write_atomic(&out, &new)?;
        println!("wrote {} ({} bytes, SHA-256 checked)", out.display(), new.len());
        return Ok(ExitCode::SUCCESS);
    }
    let new_path = a.new.context("give the new package (or --apply DELTA)")?;
    let (new, package) = payload_of(&new_path)?;
    let start = std::time::Instant::now();
    let d = mote_pkg::delta::make(&old, &new).map_err(anyhow::Error::msg)?;
    let secs = start.elapsed().as_secs_f64();
    let (delta_len, full, st) = match &d {
        mote_pkg::delta::Delta::Patch(b, st) => (b.len(), false, *st),
        mote_pkg::delta::Delta::Full { delta_len, stats } => (*delta_len, true, *stats),
    };
    if let (mote_pkg::delta::Delta::Patch(b, _), Some(out)) = (&d, &a.output) {
        write_atomic(out, b)?;
    }
    let pct = 100.0 * delta_len as f64 / package.max(1) as f64;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"package_bytes": package, "payload_bytes": new.len(), "delta_bytes": delta_len,
                "percent_of_package": pct, "send_full": full, "seconds": secs, "output": a.output,
                "tensors": {"total": st.tensors, "copied": st.copied, "raw": st.raw, "raw_planes": st.raw_planes,
                    "xor": st.xor, "xor_planes": st.xor_planes}})
        );
    } else if full {
        println!(
            "send the full package: a delta would be {delta_len} bytes, not smaller than the {}-byte payload",
            new.len()
        );
    } else {
        println!(
            "delta {delta_len} bytes = {pct:.2}% of the {package}-byte package{}",
            a.output.as_ref().map_or(String::new(), |o| format!("; wrote {}", o.display()))
        );
    }
    Ok(ExitCode::SUCCESS)
}
