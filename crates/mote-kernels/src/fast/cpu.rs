//! CPU feature detection: which instruction set the fast kernels may use.

/// An instruction set the fast kernels have a path for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, no SIMD intrinsics (the compiler may still auto-vectorise).
    Scalar,
    /// x86_64 AVX2 + FMA (256-bit vectors), detected at run time.
    Avx2Fma,
    /// aarch64 Advanced SIMD (128-bit vectors), always present on aarch64.
    Neon,
    /// wasm32 simd128 (128-bit vectors), present when the crate is compiled with
    /// `-C target-feature=+simd128`.
    Simd128,
}

impl Isa {
    /// A short lowercase name (`scalar`, `avx2-fma`, `neon`, `simd128`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2-fma",
            Isa::Neon => "neon",
            Isa::Simd128 => "simd128",
        }
    }
}

/// The instruction set chosen for the fast kernels. Every kernel takes a `Cpu` and dispatches
/// on it; a `Cpu` naming a SIMD instruction set can only be obtained when that set is available,
/// so holding one is the proof that its kernels may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cpu {
    isa: Isa,
    q8: Q8Path,
}

/// The int8 kernel path of a [`Cpu`] ([`crate::fast::int8`]): every path gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Q8Path {
    /// Portable Rust.
    Scalar,
    /// x86_64 AVX2: operands sign-extended to 16 bits, `vpmaddwd`.
    Avx2,
    /// x86_64 AVX-512 VNNI on 256-bit registers (`vpdpbusd`, activations offset to u8).
    Avx512Vnni,
    /// aarch64 NEON: `smull` + `sadalp`.
    Neon,
    /// aarch64 NEON with the dot-product extension (`sdot`).
    NeonDot,
    /// wasm32 simd128: `i32x4.dot_i16x8_s`.
    Simd128,
    /// 32-bit Arm with the DSP extension (Cortex-M4/M7, ARMv7-A/R): `sxtb16` + `smlad`, two
    /// 16-bit multiply-accumulates per instruction; the f32 kernels stay [`Isa::Scalar`]. Chosen
    /// at compile time from the target (`build.rs`).
    Dsp,
}

impl Q8Path {
    /// Every int8 path, fastest last within each architecture.
    pub const ALL: [Q8Path; 7] =
        [Q8Path::Scalar, Q8Path::Avx2, Q8Path::Avx512Vnni, Q8Path::Neon, Q8Path::NeonDot, Q8Path::Simd128, Q8Path::Dsp];

    /// A short lowercase name (`scalar`, `avx2`, `avx512-vnni`, `neon`, `neon-dot`, `simd128`,
    /// `dsp`).
    pub fn name(self) -> &'static str {
        match self {
            Q8Path::Scalar => "scalar",
            Q8Path::Avx2 => "avx2",
            Q8Path::Avx512Vnni => "avx512-vnni",
            Q8Path::Neon => "neon",
            Q8Path::NeonDot => "neon-dot",
            Q8Path::Simd128 => "simd128",
            Q8Path::Dsp => "dsp",
        }
    }
}

impl Cpu {
    /// The best instruction set of this machine. Detection runs `cpuid`/`xgetbv` on x86_64
    /// (no `std` needed) and is cheap; callers keep the result (detect once at load).
    pub fn detect() -> Cpu {
        // The int8 path is scalar where the f32 instruction set is, but for Arm's DSP path.
        Cpu { isa: detect_isa(), q8: detect_q8() }
    }

    /// The portable path, whatever the machine has (tests compare every path on the same
    /// inputs; `generic` targets use it).
    pub const fn scalar() -> Cpu {
        Cpu { isa: Isa::Scalar, q8: Q8Path::Scalar }
    }

    /// `Cpu` for `isa` if this machine can run it, else `None`.
    pub fn with_isa(isa: Isa) -> Option<Cpu> {
        if isa == Isa::Scalar {
            return Some(Cpu::scalar());
        }
        (isa == detect_isa()).then(|| Cpu { isa, q8: detect_q8() })
    }

    /// `Cpu` whose int8 kernels take `path` (its f32 kernels the matching instruction set), if
    /// this machine can run it, else `None`: tests force every path with it.
    pub fn with_q8(path: Q8Path) -> Option<Cpu> {
        let isa = match path {
            Q8Path::Scalar => return Some(Cpu::scalar()),
            Q8Path::Avx2 | Q8Path::Avx512Vnni => Isa::Avx2Fma,
            Q8Path::Neon | Q8Path::NeonDot => Isa::Neon,
            Q8Path::Simd128 => Isa::Simd128,
            Q8Path::Dsp => Isa::Scalar,
        };
        let ok = detect_isa() == isa && (path == detect_q8() || path == Q8Path::Avx2 || path == Q8Path::Neon);
        ok.then_some(Cpu { isa, q8: path })
    }

    /// The int8 path this `Cpu` dispatches to.
    pub fn q8(self) -> Q8Path {
        self.q8
    }

    /// Every path this machine can run, best first, ending with [`Isa::Scalar`].
    pub fn available() -> impl Iterator<Item = Cpu> {
        let best = Cpu::detect();
        [Some(best), (best != Cpu::scalar()).then_some(Cpu::scalar())].into_iter().flatten()
    }

    /// The instruction set this `Cpu` dispatches to.
    pub fn isa(self) -> Isa {
        self.isa
    }
}

#[cfg(target_arch = "x86_64")]
fn detect_isa() -> Isa {
    if crate::arch::x86_64::has_avx2_fma() { Isa::Avx2Fma } else { Isa::Scalar }
}

#[cfg(target_arch = "aarch64")]
fn detect_isa() -> Isa {
    Isa::Neon
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn detect_isa() -> Isa {
    Isa::Simd128
}

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
fn detect_isa() -> Isa {
    Isa::Scalar
}

#[cfg(target_arch = "x86_64")]
fn detect_q8() -> Q8Path {
    use crate::arch::x86_64::{has_avx2_fma, has_avx512_vnni};
    match (has_avx2_fma(), has_avx512_vnni()) {
        (true, true) => Q8Path::Avx512Vnni,
        (true, false) => Q8Path::Avx2,
        _ => Q8Path::Scalar,
    }
}

#[cfg(target_arch = "aarch64")]
fn detect_q8() -> Q8Path {
    if crate::arch::aarch64::has_dotprod() { Q8Path::NeonDot } else { Q8Path::Neon }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn detect_q8() -> Q8Path {
    Q8Path::Simd128
}

#[cfg(all(target_arch = "arm", mote_arm_dsp))]
fn detect_q8() -> Q8Path {
    Q8Path::Dsp
}

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128"),
    all(target_arch = "arm", mote_arm_dsp)
)))]
fn detect_q8() -> Q8Path {
    Q8Path::Scalar
}
