//! Flatten: `[N, d1, d2, ...] -> [N, d1·d2·...]`, PyTorch's `nn.Flatten()` (start_dim = 1).

use ndarray::{ArrayView, ArrayView2, ArrayViewMut, ArrayViewMut2, Dimension};

use crate::error::{config_error, Result};

/// The same data viewed as `[N, features]`: no copy. Errors if `x` is not in standard layout
/// (a view that would need a copy to flatten).
pub fn flatten<'a, T, D: Dimension>(x: ArrayView<'a, T, D>) -> Result<ArrayView2<'a, T>> {
    let (n, features) = split(x.shape());
    x.into_shape_with_order((n, features))
        .map_err(|_| config_error("Flatten", "input must be in standard (C-contiguous) layout"))
}

/// [`flatten`] for a mutable view (the gradient flowing back through Flatten is the same
/// buffer, seen with the other shape).
pub fn flatten_mut<'a, T, D: Dimension>(x: ArrayViewMut<'a, T, D>) -> Result<ArrayViewMut2<'a, T>> {
    let (n, features) = split(x.shape());
    x.into_shape_with_order((n, features))
        .map_err(|_| config_error("Flatten", "input must be in standard (C-contiguous) layout"))
}

fn split(shape: &[usize]) -> (usize, usize) {
    match shape.split_first() {
        Some((&n, rest)) => (n, rest.iter().product()),
        None => (1, 1),
    }
}
