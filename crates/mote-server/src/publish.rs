//! Publishing a package: read its manifest and signed targets entry (and, with a trusted root,
//! verify the whole chain), store it by SHA-256, and make a delta from each earlier package of
//! the same name and target (kept when smaller than the new payload).

use mote_pkg::meta::{Envelope, Targets};
use mote_pkg::verify::Sections;
use mote_pkg::{Device, Role, Trusted};
use object_store::PutPayload;
use sha2::{Digest, Sha256};

use crate::App;
use crate::artifacts::{delta_path, package_path};
use crate::error::{ApiError, ApiResult};
use crate::state::Package;

/// What a package says about itself.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub name: String,
    pub version: u64,
    pub target: String,
    pub sha256: String,
    pub payload_sha256: String,
    /// Bytes before the payload (the metadata), when the payload is the last section.
    pub meta_len: u64,
}

fn refused(e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!("package refused: {e}"))
}

/// The payload of a package and its offset.
pub fn payload(pkg: &[u8]) -> Result<(&[u8], usize), String> {
    let any = Device { name: "", target: "", now: 0, max_metadata: u32::MAX, max_payload: u64::MAX };
    let s = Sections::parse(pkg, &any).map_err(|e| e.to_string())?;
    s.payload.ok_or_else(|| "the package has no payload section".to_string())
}

/// Reads (and with `root`, verifies) `pkg`.
pub fn parse(pkg: &[u8], root: Option<&[u8]>, now: u64) -> ApiResult<Parsed> {
    let any = Device { name: "", target: "", now: 0, max_metadata: u32::MAX, max_payload: u64::MAX };
    let s = Sections::parse(pkg, &any).map_err(refused)?;
    let (pay, pay_at) = s.payload.ok_or_else(|| refused("the package has no payload section"))?;
    let (manifest, _) = mote_pkg::payload::split(pay).map_err(refused)?;
    let m: mote_pkg::manifest::Manifest =
        serde_json::from_str(manifest).map_err(|e| refused(format!("its manifest is not valid: {e}")))?;
    let (tb, tat) = s.targets.ok_or_else(|| refused("the package has no targets section"))?;
    let targets = Targets::parse(Envelope::parse(tb, tat, Role::Targets).map_err(refused)?).map_err(refused)?;
    let e = targets
        .find(&m.name)
        .ok_or_else(|| refused(format!("the targets metadata does not list the manifest's model `{}`", m.name)))?;
    if e.target != m.target || e.model_version != m.version {
        return Err(refused(format!(
            "the signed entry ({} v{} for {}) does not match the manifest ({} v{} for {})",
            e.name, e.model_version, e.target, m.name, m.version, m.target
        )));
    }
    let payload_sha: [u8; 32] = Sha256::digest(pay).into();
    if &payload_sha != e.sha256 || pay.len() as u64 != e.length {
        return Err(refused(mote_pkg::VerifyError::PayloadHash));
    }
    if let Some(root) = root {
        let dev = Device { name: &m.name, target: &m.target, now, max_metadata: u32::MAX, max_payload: u64::MAX };
        mote_pkg::verify(pkg, root, &Trusted::default(), &dev).map_err(refused)?;
    }
    let meta_len = if pay_at + pay.len() == pkg.len() { pay_at as u64 } else { 0 };
    Ok(Parsed {
        name: m.name,
        version: m.version,
        target: m.target,
        sha256: mote_pkg::make::hex(&Sha256::digest(pkg)),
        payload_sha256: mote_pkg::make::hex(&payload_sha),
        meta_len,
    })
}

/// Stores `pkg` and the deltas to it; returns the package record (not yet in the database).
pub async fn store(app: &App, pkg: Vec<u8>, p: &Parsed) -> ApiResult<Package> {
    let earlier: Vec<Package> = {
        let st = app.state.lock().expect("state lock");
        st.packages
            .values()
            .filter(|o| o.name == p.name && o.target == p.target && o.version < p.version)
            .cloned()
            .collect()
    };
    let put = |e| ApiError::internal("cannot store the artifact", e);
    app.store.put(&package_path(&p.sha256), PutPayload::from(pkg.clone())).await.map_err(put)?;
    let mut rec = Package {
        name: p.name.clone(),
        version: p.version,
        target: p.target.clone(),
        sha256: p.sha256.clone(),
        payload_sha256: p.payload_sha256.clone(),
        size: pkg.len() as u64,
        meta_len: p.meta_len,
        deltas: Default::default(),
    };
    let pkg = std::sync::Arc::new(pkg);
    for o in earlier {
        let old = app.store.get(&package_path(&o.sha256)).await.map_err(put)?.bytes().await.map_err(put)?;
        let new = pkg.clone();
        let made = tokio::task::spawn_blocking(move || {
            let (a, _) = payload(&old)?;
            let (b, _) = payload(&new)?;
            mote_pkg::delta::make(a, b)
        })
        .await
        .map_err(|e| ApiError::internal("the delta task failed", e))?;
        match made {
            Ok(mote_pkg::delta::Delta::Patch(bytes, _)) => {
                let size = bytes.len() as u64;
                app.store.put(&delta_path(&p.sha256, &o.payload_sha256), PutPayload::from(bytes)).await.map_err(put)?;
                tracing::info!(from = o.version, to = p.version, size, "stored a delta");
                rec.deltas.insert(o.payload_sha256.clone(), (o.version, size));
            }
            Ok(mote_pkg::delta::Delta::Full { delta_len, .. }) => {
                tracing::info!(from = o.version, to = p.version, delta_len, "no delta: not smaller than the payload");
            }
            Err(e) => tracing::warn!(from = o.version, to = p.version, "no delta: {e}"),
        }
    }
    Ok(rec)
}
