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
}

impl Cpu {
    /// The best instruction set of this machine. Detection runs `cpuid`/`xgetbv` on x86_64
    /// (no `std` needed) and is cheap; callers keep the result (detect once at load).
    pub fn detect() -> Cpu {
        Cpu { isa: detect_isa() }
    }

    /// The portable path, whatever the machine has (tests compare every path on the same
    /// inputs; `generic` targets use it).
    pub const fn scalar() -> Cpu {
        Cpu { isa: Isa::Scalar }
    }

    /// `Cpu` for `isa` if this machine can run it, else `None`.
    pub fn with_isa(isa: Isa) -> Option<Cpu> {
        let ok = isa == Isa::Scalar || isa == detect_isa();
        ok.then_some(Cpu { isa })
    }

    /// Every path this machine can run, best first, ending with [`Isa::Scalar`].
    pub fn available() -> impl Iterator<Item = Cpu> {
        let best = detect_isa();
        [Some(Cpu { isa: best }), (best != Isa::Scalar).then_some(Cpu::scalar())].into_iter().flatten()
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
