//! Matrix products, in i-k-j order so the innermost loop is contiguous.

use super::Mac;

/// `c[m x n] += a[m x k] * b[k x n]`, all row-major. `a` is read through strides so that a
/// transposed operand needs no copy: element `(i, p)` of `a` is `a[i * a_rs + p * a_cs]`, and
/// likewise for `b` (`b_cs == 1` keeps the inner loop contiguous).
pub fn matmul_acc<T: Mac>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    (a_rs, a_cs): (usize, usize),
    b: &[T],
    (b_rs, b_cs): (usize, usize),
    c: &mut [T],
) {
    for i in 0..m {
        let cr = &mut c[i * n..][..n];
        for p in 0..k {
            let av = a[i * a_rs + p * a_cs];
            if b_cs == 1 {
                for (cv, &bv) in cr.iter_mut().zip(&b[p * b_rs..][..n]) {
                    *cv = T::mac(*cv, av, bv);
                }
            } else {
                for (j, cv) in cr.iter_mut().enumerate() {
                    *cv = T::mac(*cv, av, b[p * b_rs + j * b_cs]);
                }
            }
        }
    }
}

/// `c = a * b` for row-major `a [m x k]`, `b [k x n]`, `c [m x n]` (overwritten).
pub fn matmul<T: Mac>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) {
    c[..m * n].fill(T::default());
    matmul_acc(m, k, n, a, (k, 1), b, (n, 1), c);
}

/// Determinant of the `n x n` row-major matrix `a` by LU decomposition with partial pivoting;
/// `a` is used as scratch.
pub fn det_in_place<T: num_traits::Float>(n: usize, a: &mut [T]) -> T {
    let mut det = T::one();
    for col in 0..n {
        let mut piv = col;
        for r in col + 1..n {
            if a[r * n + col].abs() > a[piv * n + col].abs() {
                piv = r;
            }
        }
        let p = a[piv * n + col];
        if p == T::zero() {
            return T::zero();
        }
        if piv != col {
            for j in 0..n {
                a.swap(col * n + j, piv * n + j);
            }
            det = -det;
        }
        det = det * p;
        for r in col + 1..n {
            let f = a[r * n + col] / p;
            for j in col..n {
                a[r * n + j] = a[r * n + j] - f * a[col * n + j];
            }
        }
    }
    det
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_products() {
        let a = [1, 2, 3, 4, 5, 6]; // 2x3
        let b = [7, 8, 9, 10, 11, 12]; // 3x2
        let mut c = [0; 4];
        matmul(2, 3, 2, &a, &b, &mut c);
        assert_eq!(c, [58, 64, 139, 154]);
        // a^T a, reading a^T through strides.
        let mut d = [0; 9];
        matmul_acc(3, 2, 3, &a, (1, 3), &a, (3, 1), &mut d);
        // (a^T a)[0][0] = 1*1 + 4*4 = 17
        assert_eq!(d[0], 17);
        assert_eq!(d[4], 2 * 2 + 5 * 5);
    }

    #[test]
    fn determinant_with_pivoting() {
        // Leading zero forces a row swap: det [[0, 2], [3, 4]] = -6.
        let mut a = [0.0f64, 2.0, 3.0, 4.0];
        assert_eq!(det_in_place(2, &mut a), -6.0);
        let mut s = [1.0f64, 2.0, 2.0, 4.0];
        assert_eq!(det_in_place(2, &mut s), 0.0);
        assert_eq!(det_in_place::<f64>(0, &mut []), 1.0);
    }

    #[test]
    fn integers_wrap() {
        let mut c = [0u8];
        matmul(1, 1, 1, &[16u8], &[17u8], &mut c);
        assert_eq!(c, [16]);
    }
}
