//! The overlap test of NonMaxSuppression (the selection loop lives with its callers: the
//! interpreter collects into vectors, the runtime into preallocated buffers).

use num_traits::Float;

/// `(min, max)` of two coordinates.
fn ordered<T: Float>(a: T, b: T) -> (T, T) {
    if a >= b { (b, a) } else { (a, b) }
}

/// Whether the IoU of boxes `a` and `b` exceeds `th`: corners `[y1, x1, y2, x2]` in either
/// order, or `[x_center, y_center, width, height]` with `center`. Empty or degenerate boxes never
/// suppress.
pub fn nms_suppresses<T: Float>(a: &[T], b: &[T], center: bool, th: T) -> bool {
    let two = T::one() + T::one();
    let ((ax0, ax1), (ay0, ay1), (bx0, bx1), (by0, by1)) = if center {
        let span = |c: T, s: T| (c - s / two, c + s / two);
        (span(a[0], a[2]), span(a[1], a[3]), span(b[0], b[2]), span(b[1], b[3]))
    } else {
        (ordered(a[1], a[3]), ordered(a[0], a[2]), ordered(b[1], b[3]), ordered(b[0], b[2]))
    };
    let (ix0, ix1) = (ax0.max(bx0), ax1.min(bx1));
    if ix1 <= ix0 {
        return false;
    }
    let (iy0, iy1) = (ay0.max(by0), ay1.min(by1));
    if iy1 <= iy0 {
        return false;
    }
    let inter = (ix1 - ix0) * (iy1 - iy0);
    let area_a = (ax1 - ax0) * (ay1 - ay0);
    let area_b = (bx1 - bx0) * (by1 - by0);
    let union = area_a + area_b - inter;
    if inter <= T::zero() || area_a <= T::zero() || area_b <= T::zero() || union <= T::zero() {
        return false;
    }
    inter / union > th
}
