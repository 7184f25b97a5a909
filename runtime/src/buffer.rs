//! Grow-only storage for activations and scratch, so a training step allocates nothing once a
//! batch of its size has been seen.

use ndarray::{ArrayView, ArrayViewMut, Dimension, IntoDimension};

/// A flat buffer viewed as an array of any shape that fits its capacity. It grows (allocates)
/// only when a larger shape is asked for by [`reserve`](Buffer::reserve); views never allocate.
#[derive(Clone, Debug, Default)]
pub struct Buffer<T> {
    data: Vec<T>,
}

impl<T: Copy + Default> Buffer<T> {
    pub const fn new() -> Self {
        Buffer { data: Vec::new() }
    }

    /// Makes room for `len` elements (new elements are `T::default()`); never shrinks.
    pub fn reserve(&mut self, len: usize) {
        if len > self.data.len() {
            self.data.resize(len, T::default());
        }
    }

    /// The number of elements the buffer holds.
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// The first `shape.size()` elements viewed as `shape` (standard layout). Panics if the
    /// buffer holds fewer: callers [`reserve`](Buffer::reserve) first.
    pub fn view<Sh: IntoDimension>(&self, shape: Sh) -> ArrayView<'_, T, Sh::Dim> {
        let shape = shape.into_dimension();
        let len = shape.size();
        ArrayView::from_shape(shape, &self.data[..len]).expect("length matches the shape")
    }

    /// Mutable form of [`view`](Buffer::view).
    pub fn view_mut<Sh: IntoDimension>(&mut self, shape: Sh) -> ArrayViewMut<'_, T, Sh::Dim> {
        let shape = shape.into_dimension();
        let len = shape.size();
        ArrayViewMut::from_shape(shape, &mut self.data[..len]).expect("length matches the shape")
    }

    /// Copies `x` (any layout, logical order) into the buffer's first `x.len()` elements,
    /// growing it if needed; view them afterwards with [`view`](Buffer::view).
    pub fn copy_from<D: Dimension>(&mut self, x: &ArrayView<'_, T, D>) {
        self.reserve(x.len());
        match x.as_slice() {
            Some(contiguous) => self.data[..contiguous.len()].copy_from_slice(contiguous),
            None => {
                for (d, s) in self.data.iter_mut().zip(x.iter()) {
                    *d = *s;
                }
            }
        }
    }
}

/// `x` viewed as `shape` (same elements, e.g. a flattened batch) without a copy when it is in
/// standard layout; otherwise copied into `scratch` first. No allocation unless `scratch` must
/// grow.
pub fn standard_view<'a, T: Copy + Default, D: Dimension, Sh: IntoDimension>(
    x: ArrayView<'a, T, D>,
    scratch: &'a mut Buffer<T>,
    shape: Sh,
) -> ArrayView<'a, T, Sh::Dim> {
    let shape = shape.into_dimension();
    assert_eq!(
        shape.size(),
        x.len(),
        "standard_view keeps the number of elements"
    );
    if let Some(data) = x.to_slice() {
        return ArrayView::from_shape(shape, data).expect("length matches the shape");
    }
    scratch.copy_from(&x);
    scratch.view(shape)
}
