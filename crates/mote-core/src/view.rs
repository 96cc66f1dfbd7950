//! Strided, borrowed tensor views.
//!
//! A view is a slice plus a shape and per-dimension strides (in elements). Broadcasting is a
//! stride of 0; a transpose is a permutation of strides. Views never copy.

use crate::shape::{MAX_RANK, Shape, ShapeError};

/// A read-only strided view over `data`.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    shape: Shape,
    strides: [isize; MAX_RANK],
    offset: usize,
}

/// Why a view could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewError {
    Shape(ShapeError),
    /// The data slice is shorter than the view needs.
    TooShort {
        needed: usize,
        got: usize,
    },
    /// A dimension cannot be broadcast to the requested size.
    Broadcast {
        axis: usize,
        from: usize,
        to: usize,
    },
    /// A permutation or axis argument is invalid for this rank.
    BadAxes,
}

impl From<ShapeError> for ViewError {
    fn from(e: ShapeError) -> Self {
        ViewError::Shape(e)
    }
}

impl<'a, T: Copy> TensorView<'a, T> {
    /// A contiguous row-major view of `data` with `dims`.
    pub fn new(data: &'a [T], dims: &[usize]) -> Result<Self, ViewError> {
        let shape = Shape::new(dims)?;
        let needed = shape.numel();
        if data.len() < needed {
            return Err(ViewError::TooShort { needed, got: data.len() });
        }
        Ok(TensorView { data, shape, strides: shape.contiguous_strides(), offset: 0 })
    }

    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn strides(&self) -> &[isize] {
        &self.strides[..self.shape.rank()]
    }

    /// The element at a multi-index. Panics if the index is out of bounds (a caller bug).
    pub fn get(&self, index: &[usize]) -> T {
        debug_assert_eq!(index.len(), self.shape.rank());
        let mut off = self.offset as isize;
        for (i, &ix) in index.iter().enumerate() {
            assert!(ix < self.shape.dims()[i], "index out of bounds");
            off += ix as isize * self.strides[i];
        }
        self.data[off as usize]
    }

    /// Broadcasts to `dims` with numpy rules (leading axes are added, size-1 axes stretch).
    pub fn broadcast_to(&self, dims: &[usize]) -> Result<Self, ViewError> {
        let shape = Shape::new(dims)?;
        let (r_in, r_out) = (self.shape.rank(), shape.rank());
        if r_in > r_out {
            return Err(ViewError::BadAxes);
        }
        let mut strides = [0isize; MAX_RANK];
        for o in 0..r_out {
            if o < r_out - r_in {
                continue;
            }
            let i = o - (r_out - r_in);
            let from = self.shape.dims()[i];
            if from == dims[o] {
                strides[o] = self.strides[i];
            } else if from == 1 {
                strides[o] = 0;
            } else {
                return Err(ViewError::Broadcast { axis: o, from, to: dims[o] });
            }
        }
        Ok(TensorView { data: self.data, shape, strides, offset: self.offset })
    }

    /// Reorders axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Self, ViewError> {
        let r = self.shape.rank();
        if perm.len() != r {
            return Err(ViewError::BadAxes);
        }
        let mut seen = [false; MAX_RANK];
        let mut dims = [0usize; MAX_RANK];
        let mut strides = [0isize; MAX_RANK];
        for (o, &p) in perm.iter().enumerate() {
            if p >= r || seen[p] {
                return Err(ViewError::BadAxes);
            }
            seen[p] = true;
            dims[o] = self.shape.dims()[p];
            strides[o] = self.strides[p];
        }
        Ok(TensorView { data: self.data, shape: Shape::new(&dims[..r])?, strides, offset: self.offset })
    }

    /// Visits every element in row-major order of the view's shape.
    pub fn for_each(&self, mut f: impl FnMut(T)) {
        let r = self.shape.rank();
        if self.shape.numel() == 0 {
            return;
        }
        let dims = self.shape.dims();
        let mut idx = [0usize; MAX_RANK];
        let mut off = self.offset as isize;
        loop {
            f(self.data[off as usize]);
            // Advance the multi-index and the offset together.
            let mut axis = r;
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                idx[axis] += 1;
                off += self.strides[axis];
                if idx[axis] < dims[axis] {
                    break;
                }
                off -= self.strides[axis] * dims[axis] as isize;
                idx[axis] = 0;
            }
        }
    }

    /// Copies the view, in row-major order, into `out` (which must hold `numel` elements).
    pub fn copy_to(&self, out: &mut [T]) {
        let mut i = 0;
        self.for_each(|v| {
            out[i] = v;
            i += 1;
        });
    }
}

/// The numpy broadcast of two shapes, written into `out`; returns its rank.
pub fn broadcast_shapes(a: &[usize], b: &[usize], out: &mut [usize; MAX_RANK]) -> Result<usize, ViewError> {
    let r = a.len().max(b.len());
    if r > MAX_RANK {
        return Err(ViewError::Shape(ShapeError::RankTooLarge(r)));
    }
    for o in 0..r {
        let da = if o + a.len() >= r { a[o + a.len() - r] } else { 1 };
        let db = if o + b.len() >= r { b[o + b.len() - r] } else { 1 };
        out[o] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(ViewError::Broadcast { axis: o, from: db, to: da });
        };
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<const N: usize>(v: &TensorView<'_, i32>) -> [i32; N] {
        let mut out = [0; N];
        v.copy_to(&mut out);
        out
    }

    #[test]
    fn broadcast_row_and_column() {
        let row = [1, 2, 3];
        let v = TensorView::new(&row, &[3]).unwrap().broadcast_to(&[2, 3]).unwrap();
        assert_eq!(collect::<6>(&v), [1, 2, 3, 1, 2, 3]);
        let col = [10, 20];
        let v = TensorView::new(&col, &[2, 1]).unwrap().broadcast_to(&[2, 3]).unwrap();
        assert_eq!(collect::<6>(&v), [10, 10, 10, 20, 20, 20]);
        assert!(TensorView::new(&row, &[3]).unwrap().broadcast_to(&[2, 4]).is_err());
    }

    #[test]
    fn permute_is_transpose() {
        let d = [1, 2, 3, 4, 5, 6];
        let v = TensorView::new(&d, &[2, 3]).unwrap().permute(&[1, 0]).unwrap();
        assert_eq!(v.dims(), &[3, 2]);
        assert_eq!(collect::<6>(&v), [1, 4, 2, 5, 3, 6]);
        assert_eq!(v.get(&[2, 1]), 6);
        assert!(TensorView::new(&d, &[2, 3]).unwrap().permute(&[0, 0]).is_err());
    }

    #[test]
    fn broadcast_shape_rules() {
        let mut out = [0; MAX_RANK];
        let r = broadcast_shapes(&[2, 1, 4], &[3, 1], &mut out).unwrap();
        assert_eq!(&out[..r], &[2, 3, 4]);
        assert!(broadcast_shapes(&[2], &[3], &mut out).is_err());
        let r = broadcast_shapes(&[], &[5], &mut out).unwrap();
        assert_eq!(&out[..r], &[5]);
    }

    #[test]
    fn too_short_is_an_error() {
        assert_eq!(TensorView::new(&[1, 2], &[3]).unwrap_err(), ViewError::TooShort { needed: 3, got: 2 });
    }
}
