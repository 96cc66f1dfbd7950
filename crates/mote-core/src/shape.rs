//! Fixed-capacity shapes and strides (no allocation).

use core::fmt;

/// The largest rank a [`Shape`] can hold.
pub const MAX_RANK: usize = 8;

/// Why a shape could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// More than [`MAX_RANK`] dimensions.
    RankTooLarge(usize),
    /// The element count does not fit in `usize`.
    Overflow,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::RankTooLarge(r) => {
                write!(f, "rank {r} exceeds the maximum rank {MAX_RANK}")
            }
            ShapeError::Overflow => f.write_str("element count overflows usize"),
        }
    }
}

/// A tensor shape of rank at most [`MAX_RANK`], stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// A rank-0 shape (a scalar).
    pub const fn scalar() -> Shape {
        Shape { dims: [0; MAX_RANK], rank: 0 }
    }

    /// Builds a shape; fails when the rank exceeds [`MAX_RANK`] or the element count overflows.
    pub fn new(dims: &[usize]) -> Result<Shape, ShapeError> {
        if dims.len() > MAX_RANK {
            return Err(ShapeError::RankTooLarge(dims.len()));
        }
        checked_numel(dims).ok_or(ShapeError::Overflow)?;
        let mut s = Shape::scalar();
        s.dims[..dims.len()].copy_from_slice(dims);
        s.rank = dims.len() as u8;
        Ok(s)
    }

    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// Number of elements (1 for a scalar). Cannot overflow: checked in [`Shape::new`].
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }

    /// Row-major (C order) strides, in elements.
    pub fn contiguous_strides(&self) -> [isize; MAX_RANK] {
        let mut strides = [0isize; MAX_RANK];
        let mut acc = 1isize;
        for i in (0..self.rank()).rev() {
            strides[i] = acc;
            acc *= self.dims[i] as isize;
        }
        strides
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.dims()).finish()
    }
}

/// Product of `dims`, or `None` when the shape's extent (the product of its non-zero dims)
/// exceeds `isize::MAX`: strides of an empty tensor are computed too, and must not overflow.
pub fn checked_numel(dims: &[usize]) -> Option<usize> {
    let extent = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))?;
    isize::try_from(extent).ok()?;
    Some(if dims.contains(&0) { 0 } else { extent })
}

/// Advances a row-major multi-index over `dims`; returns `false` after the last index.
pub fn next_index(index: &mut [usize], dims: &[usize]) -> bool {
    for i in (0..dims.len()).rev() {
        index[i] += 1;
        if index[i] < dims[i] {
            return true;
        }
        index[i] = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_shapes_with_overflowing_strides_are_rejected() {
        assert_eq!(checked_numel(&[2, 3]), Some(6));
        assert_eq!(checked_numel(&[]), Some(1));
        assert_eq!(checked_numel(&[4, 0, 5]), Some(0));
        // No elements, but the strides of the leading axes would overflow.
        assert_eq!(checked_numel(&[0, 1 << 40, 1 << 40]), None);
        assert_eq!(checked_numel(&[usize::MAX, 0]), None);
    }

    #[test]
    fn strides_and_numel() {
        let s = Shape::new(&[2, 3, 4]).unwrap();
        assert_eq!(s.numel(), 24);
        assert_eq!(&s.contiguous_strides()[..3], &[12, 4, 1]);
        assert_eq!(Shape::scalar().numel(), 1);
    }

    #[test]
    fn rejects_rank_and_overflow() {
        assert_eq!(Shape::new(&[1; 9]), Err(ShapeError::RankTooLarge(9)));
        assert_eq!(Shape::new(&[usize::MAX, 2]), Err(ShapeError::Overflow));
    }

    #[test]
    fn index_iteration_visits_every_element_once() {
        let dims = [2, 3];
        let mut idx = [0, 0];
        let mut seen = 1;
        while next_index(&mut idx, &dims) {
            seen += 1;
        }
        assert_eq!(seen, 6);
        assert_eq!(idx, [0, 0]);
    }
}
