//! SplitMix64: a small seeded generator for reproducible sampling (calibration crops, training
//! data order, augmentation, initialization). Not for anything that needs unpredictability.

/// The generator; its sequence is fixed by the seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The generator's state, to resume its sequence later with [`SplitMix64::from_state`].
    pub fn state(&self) -> u64 {
        self.0
    }

    /// A generator that continues from `state`.
    pub fn from_state(state: u64) -> SplitMix64 {
        SplitMix64(state)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
