//! What a file is compiled for: the machine ([`Target`]) and what it offers ([`Profile`]):
//! memory budgets, the ops its runtime build lacks, how small the scratch must be, the code the
//! runtime adds to flash, and the energy coefficients of [`crate::energy`].

mod code;

pub use code::CodeSizes;

/// The machine the file is compiled for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// Portable: plain layouts, the runtime picks kernels on the device.
    #[default]
    Generic,
    X86_64,
    Aarch64,
    Wasm32,
    /// Arm Cortex-M4F (thumbv7em, DSP extension, single-precision FPU).
    CortexM4,
    /// Arm Cortex-M7 (thumbv7em, DSP, double-precision FPU on most parts).
    CortexM7,
    /// Arm Cortex-M33 (thumbv8m.main, DSP, single-precision FPU).
    CortexM33,
}

impl Target {
    pub const ALL: [(&'static str, Target); 7] = [
        ("generic", Target::Generic),
        ("x86_64", Target::X86_64),
        ("aarch64", Target::Aarch64),
        ("wasm32", Target::Wasm32),
        ("cortex-m4", Target::CortexM4),
        ("cortex-m7", Target::CortexM7),
        ("cortex-m33", Target::CortexM33),
    ];

    pub fn name(self) -> &'static str {
        Target::ALL.iter().find(|(_, t)| *t == self).map_or("generic", |(n, _)| n)
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
    }

    /// `true` for microcontrollers: the plan gives kernels their smallest scratch, and the
    /// budgets default to a typical part's RAM and flash.
    pub fn is_mcu(self) -> bool {
        matches!(self, Target::CortexM4 | Target::CortexM7 | Target::CortexM33)
    }

    pub fn profile(self) -> Profile {
        const KIB: u64 = 1024;
        let mcu = |describe, ram, flash, f64_hw, pj_per_cycle| Profile {
            target: self,
            describe,
            ram: Some(ram * KIB),
            flash: Some(flash * KIB),
            f64_in_hardware: f64_hw,
            strings: false,
            energy: Energy::Cycles(Cycles { pj_per_cycle, ..Cycles::CORTEX_M }),
        };
        let big = |describe, e| Profile {
            target: self,
            describe,
            ram: None,
            flash: None,
            f64_in_hardware: true,
            strings: true,
            energy: e,
        };
        match self {
            // Typical parts: STM32F4 (Cortex-M4F, 256 KB SRAM / 1 MB flash, ~100 uA/MHz at
            // 3.3 V), STM32F7 (512 KB / 2 MB, ~120 uA/MHz), STM32L5 / nRF5340 (M33, ~30 uA/MHz).
            Target::CortexM4 => mcu("Arm Cortex-M4F (thumbv7em), e.g. STM32F4", 256, 1024, false, 330.0),
            Target::CortexM7 => mcu("Arm Cortex-M7 (thumbv7em), e.g. STM32F7", 512, 2048, true, 400.0),
            Target::CortexM33 => mcu("Arm Cortex-M33 (thumbv8m.main), e.g. STM32L5, nRF5340", 256, 1024, false, 100.0),
            Target::X86_64 => big("x86-64 (AVX2, AVX-512 VNNI when present)", Energy::HOST),
            Target::Aarch64 => big("arm64 (NEON, sdot when present)", Energy::MOBILE),
            Target::Wasm32 => big("WebAssembly (simd128)", Energy::MOBILE),
            Target::Generic => big("any machine (the runtime picks kernels on the device)", Energy::HOST),
        }
    }
}

/// What a target offers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    pub target: Target,
    pub describe: &'static str,
    /// Default RAM and flash budgets in bytes (`None`: unbounded unless given).
    pub ram: Option<u64>,
    pub flash: Option<u64>,
    /// `false` where f64 arithmetic is emulated in software (a single-precision FPU).
    pub f64_in_hardware: bool,
    /// String tensors and text ops (tokenizers, regular expressions) are built in.
    pub strings: bool,
    pub energy: Energy,
}

impl Profile {
    /// Bytes of runtime code and RAM besides the model, measured on this target (see
    /// docs/FOOTPRINT.md); `None` where not measured.
    pub fn code(&self) -> Option<CodeSizes> {
        if self.target.is_mcu() { Some(CodeSizes::thumbv7em()) } else { None }
    }
}

/// Energy coefficients (an estimate from published figures; see docs/FOOTPRINT.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Energy {
    /// A microcontroller: cycles (from MACs and bytes moved, at rates measured as instructions
    /// under emulation) times the energy of one cycle at a typical part's run current.
    Cycles(Cycles),
    /// An application processor: energy per operation and per byte (Horowitz, ISSCC 2014,
    /// scaled to a 7 nm class node).
    PerOp { pj_per_mac_f32: f64, pj_per_mac_i8: f64, pj_per_byte: f64 },
}

/// A microcontroller's cycle costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cycles {
    pub pj_per_cycle: f64,
    pub per_mac_i8: f64,
    pub per_mac_f32: f64,
    /// Per byte a step reads or writes (activations and weights).
    pub per_byte: f64,
}

impl Cycles {
    /// int8: 4 instructions per MAC and 1 per byte moved fit the instruction counts measured
    /// under QEMU for the four MLPerf Tiny models (within -13%..+48%; docs/MICROCONTROLLERS.md),
    /// counting one cycle per instruction. f32: 6 cycles per MAC, assumed (a VFMA and its
    /// loads), not measured.
    const CORTEX_M: Cycles = Cycles { pj_per_cycle: 0.0, per_mac_i8: 4.0, per_mac_f32: 6.0, per_byte: 1.0 };
}

impl Energy {
    const HOST: Energy = Energy::PerOp { pj_per_mac_f32: 1.0, pj_per_mac_i8: 0.1, pj_per_byte: 5.0 };
    const MOBILE: Energy = Energy::PerOp { pj_per_mac_f32: 0.6, pj_per_mac_i8: 0.06, pj_per_byte: 3.0 };
}
