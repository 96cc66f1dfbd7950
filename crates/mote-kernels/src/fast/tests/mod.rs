//! Property tests: every fast path (each ISA this machine has, and the portable path) against
//! the reference kernels, on random shapes including edge sizes.

mod blocked;
mod conv;
mod conv_transpose;
mod depthwise;
mod elementwise;
mod fft;
mod gemm;
mod matvec;
mod norm;
mod par;
mod pool;
mod qgemm;
mod reduce;
mod sample;
mod sparse;
mod util;
