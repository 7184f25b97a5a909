//! Numerical building blocks below the layers: GEMM, window geometry, im2col.

pub mod gemm;
pub mod im2col;
pub mod parallel;
mod small_gemm;
pub mod window;
