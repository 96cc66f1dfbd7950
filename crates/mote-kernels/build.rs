//! Sets `cfg(mote_arm_dsp)` when the target has the Arm DSP extension (`sxtb16`, `smlad`: the
//! int8 path `Q8Path::Dsp`). Stable Rust does not expose Arm target features to `cfg`
//! (`target_feature = "dsp"` is never set, even with `-C target-feature=+dsp`), so the target's
//! name decides: ARMv7E-M (`thumbv7em-*`: Cortex-M4, M7) and ARMv7-A/R (`armv7*`, `thumbv7a*`,
//! `thumbv7neon*`) always have it; ARMv6-M, ARMv7-M and ARMv8-M may not. `MOTE_ARM_DSP=1`
//! (or `0`) overrides the choice, e.g. for a Cortex-M33 with its DSP extension.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mote_arm_dsp)");
    println!("cargo::rerun-if-env-changed=MOTE_ARM_DSP");
    let target = std::env::var("TARGET").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let by_name = ["thumbv7em", "armv7", "thumbv7a", "thumbv7neon"].iter().any(|p| target.starts_with(p));
    let dsp = match std::env::var("MOTE_ARM_DSP").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => by_name,
    };
    if arch == "arm" && dsp {
        println!("cargo::rustc-cfg=mote_arm_dsp");
    }
}
