//! The checked network as plain data: what `check` infers and `codegen` writes out.

use syn::{Attribute, Ident, Visibility};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

/// A network whose every shape fits.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub dtype: Dtype,
    /// Per-sample input shape.
    pub input: Vec<usize>,
    pub layers: Vec<Layer>,
    pub loss: Option<Loss>,
}

impl Network {
    /// Per-sample output shape (of the last layer).
    pub fn output(&self) -> &[usize] {
        self.layers.last().map_or(&self.input, |l| &l.output)
    }

    pub fn parameters(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.kind.parameters(&l.input))
            .sum()
    }
}

/// One entry of the network, with its inferred per-sample input and output shapes.
pub struct Layer {
    pub name: Ident,
    pub kind: LayerKind,
    /// The declaration as written (`Conv2d<1, 16, 3>(padding = 1)`), for docs and summary.
    pub written: String,
    pub input: Vec<usize>,
    pub output: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerKind {
    Linear {
        inputs: usize,
        outputs: usize,
        bias: bool,
    },
    Conv2d {
        in_channels: usize,
        out_channels: usize,
        window: Window,
        bias: bool,
    },
    MaxPool2d(Window),
    AvgPool2d(Window),
    Flatten,
    Activation(Activation),
}

impl LayerKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            LayerKind::Linear { .. } => "Linear",
            LayerKind::Conv2d { .. } => "Conv2d",
            LayerKind::MaxPool2d(_) => "MaxPool2d",
            LayerKind::AvgPool2d(_) => "AvgPool2d",
            LayerKind::Flatten => "Flatten",
            LayerKind::Activation(a) => a.type_name(),
        }
    }

    /// Learnable scalars of the layer.
    pub fn parameters(&self, _input: &[usize]) -> usize {
        match *self {
            LayerKind::Linear {
                inputs,
                outputs,
                bias,
            } => outputs * inputs + if bias { outputs } else { 0 },
            LayerKind::Conv2d {
                in_channels,
                out_channels,
                window,
                bias,
            } => {
                out_channels * in_channels * window.kernel.0 * window.kernel.1
                    + if bias { out_channels } else { 0 }
            }
            _ => 0,
        }
    }
}

/// Kernel, stride, padding and dilation along (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Window {
    /// PyTorch's `floor((H + 2p − d(k − 1) − 1) / s) + 1`, or `None` if the window does not fit.
    pub fn output_len(
        input: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> Option<usize> {
        let span = dilation * (kernel.checked_sub(1)?) + 1;
        let padded = input + 2 * padding;
        (padded >= span && stride > 0).then(|| (padded - span) / stride + 1)
    }

    pub fn output_size(&self, (h, w): (usize, usize)) -> Option<(usize, usize)> {
        Some((
            Self::output_len(
                h,
                self.kernel.0,
                self.stride.0,
                self.padding.0,
                self.dilation.0,
            )?,
            Self::output_len(
                w,
                self.kernel.1,
                self.stride.1,
                self.padding.1,
                self.dilation.1,
            )?,
        ))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    ReLU,
    Sigmoid,
    Tanh,
    LeakyReLU(f64),
}

impl Activation {
    pub fn type_name(&self) -> &'static str {
        match self {
            Activation::ReLU => "ReLU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::LeakyReLU(_) => "LeakyReLU",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    Mse,
    CrossEntropy,
    BceWithLogits,
}

impl LossKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            LossKind::Mse => "MSE",
            LossKind::CrossEntropy => "CrossEntropy",
            LossKind::BceWithLogits => "BCEWithLogits",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    Sum,
}

pub struct Loss {
    pub name: Ident,
    pub kind: LossKind,
    pub reduction: Reduction,
}
