//! The sliding-window geometry shared by convolution and pooling.

use crate::error::{config_error, Result};

/// Kernel size, stride, padding and dilation along (height, width), as PyTorch's `Conv2d` and
/// pooling layers take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window2d {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Window2d {
    /// A `kernel` window with stride 1, no padding and no dilation.
    pub const fn new(kernel: (usize, usize)) -> Self {
        Window2d {
            kernel,
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }

    pub const fn stride(self, stride: (usize, usize)) -> Self {
        Window2d { stride, ..self }
    }

    pub const fn padding(self, padding: (usize, usize)) -> Self {
        Window2d { padding, ..self }
    }

    pub const fn dilation(self, dilation: (usize, usize)) -> Self {
        Window2d { dilation, ..self }
    }

    /// The number of window positions along one axis of length `input`, PyTorch's
    /// `floor((input + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`, or `None` when the
    /// (dilated) window does not fit in the padded input even once, or stride is 0.
    pub const fn output_len(
        input: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> Option<usize> {
        if kernel == 0 || stride == 0 || dilation == 0 {
            return None;
        }
        let span = dilation * (kernel - 1) + 1;
        let padded = input + 2 * padding;
        if padded < span {
            None
        } else {
            Some((padded - span) / stride + 1)
        }
    }

    /// `(H', W')` for an `(H, W)` input, or `None` if the window does not fit.
    pub const fn output_size(&self, (h, w): (usize, usize)) -> Option<(usize, usize)> {
        match (
            Self::output_len(
                h,
                self.kernel.0,
                self.stride.0,
                self.padding.0,
                self.dilation.0,
            ),
            Self::output_len(
                w,
                self.kernel.1,
                self.stride.1,
                self.padding.1,
                self.dilation.1,
            ),
        ) {
            (Some(oh), Some(ow)) => Some((oh, ow)),
            _ => None,
        }
    }

    /// The output size for an input of `(h, w)`, or an error naming `layer` and the sizes.
    pub fn checked_output_size(
        &self,
        layer: &str,
        (h, w): (usize, usize),
    ) -> Result<(usize, usize)> {
        self.validate(layer)?;
        self.output_size((h, w)).ok_or_else(|| {
            config_error(
                layer,
                format!(
                    "a {}x{} window (dilation {}x{}) does not fit in the {}x{} input padded by {}x{}",
                    self.kernel.0,
                    self.kernel.1,
                    self.dilation.0,
                    self.dilation.1,
                    h,
                    w,
                    self.padding.0,
                    self.padding.1
                ),
            )
        })
    }

    /// Kernel, stride and dilation must be positive.
    pub fn validate(&self, layer: &str) -> Result<()> {
        let (k, s, d) = (self.kernel, self.stride, self.dilation);
        if k.0 == 0 || k.1 == 0 || s.0 == 0 || s.1 == 0 || d.0 == 0 || d.1 == 0 {
            return Err(config_error(
                layer,
                format!(
                    "kernel {}x{}, stride {}x{} and dilation {}x{} must all be positive",
                    k.0, k.1, s.0, s.1, d.0, d.1
                ),
            ));
        }
        Ok(())
    }

    /// Pooling's extra rule (PyTorch's): padding at most half the kernel, so every window holds
    /// at least one real element.
    pub fn validate_pool(&self, layer: &str) -> Result<()> {
        self.validate(layer)?;
        if 2 * self.padding.0 > self.kernel.0 || 2 * self.padding.1 > self.kernel.1 {
            return Err(config_error(
                layer,
                format!(
                    "padding {}x{} must be at most half the {}x{} kernel",
                    self.padding.0, self.padding.1, self.kernel.0, self.kernel.1
                ),
            ));
        }
        Ok(())
    }

    /// The range of output positions `o` along one axis whose input index
    /// `o·stride + offset − padding` falls inside `[0, input)`; `offset` is `tap·dilation`.
    #[inline]
    pub(crate) fn valid_range(
        out: usize,
        input: usize,
        stride: usize,
        padding: usize,
        offset: usize,
    ) -> (usize, usize) {
        // o·s + offset ≥ padding  ⇔  o ≥ ceil((padding − offset) / s)
        let lo = if offset >= padding {
            0
        } else {
            (padding - offset).div_ceil(stride)
        };
        // o·s + offset − padding < input  ⇔  o·s < input + padding − offset
        let limit = input + padding;
        let hi = if offset >= limit {
            0
        } else {
            (limit - offset).div_ceil(stride)
        };
        (lo.min(out), hi.min(out).max(lo.min(out)))
    }
}
