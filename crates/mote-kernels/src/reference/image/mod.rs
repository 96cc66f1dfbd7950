//! Image kernels: Resize (separable, one axis per pass), GridSample (N-D), AffineGrid, RoiAlign,
//! MaxRoiPool and NonMaxSuppression's overlap test.
//!
//! Resize is split into a host-side plan (the source coordinate and filter taps of every output
//! index of one axis: [`source_coord`], [`nearest_index`], [`Taps`]) and passes that apply the
//! taps along one axis ([`resize_axis`], [`gather_axis`]). The semantics follow the ONNX
//! reference implementation: edge-clamped neighbours, taps chosen so that an integral source
//! coordinate prefers the pixel on its left.

mod nms;
mod resize;
mod roi;
mod sample;

pub use nms::*;
pub use resize::*;
pub use roi::*;
pub use sample::*;

use num_traits::Float;

/// A float constant in `T`.
fn c<T: Float>(x: f64) -> T {
    T::from(x).expect("constant fits every float type")
}
