//! The one error type of tapeless.

use std::fmt;

/// A shape in plain numbers, printed as PyTorch prints `tensor.shape`'s contents: `[64, 1, 28, 28]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    pub fn of(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything that can go wrong with data the compiler could not see: shapes of runtime arrays,
/// class ids, files. Messages name the layer (or kernel) and the shapes in plain numbers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An array's shape does not fit. `expected` reads like a shape with named free dims, e.g.
    /// `[N, 784]`.
    #[error("{layer}: {what} has shape {found}, expected {expected}")]
    Shape {
        layer: String,
        what: &'static str,
        expected: String,
        found: Shape,
    },
    /// A class id (cross-entropy target) is not below the number of classes.
    #[error(
        "{layer}: target class {class} of sample {sample} is out of range for {classes} classes"
    )]
    ClassOutOfRange {
        layer: String,
        sample: usize,
        class: usize,
        classes: usize,
    },
    /// A layer option that cannot work (zero stride, padding larger than half the window, ...).
    #[error("{layer}: {message}")]
    Config { layer: String, message: String },
    /// A call out of order, e.g. `backward` without a `loss` since the last `backward`.
    #[error("{network}: {message}")]
    State { network: String, message: String },
    /// An optimizer state that does not fit the optimizer (`Optimizer::load_state`): a buffer
    /// missing, extra, unknown, or of another shape than the parameter it belongs to.
    #[error("{optimizer}: load_state: {message}")]
    OptimizerState { optimizer: String, message: String },
    /// A checkpoint that does not fit the network, or a file that is not valid safetensors.
    /// Nothing was changed.
    #[error("{path}: {message}")]
    Checkpoint { path: String, message: String },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A data file whose content is not what it claims (bad magic number, truncated, counts that
    /// disagree between images and labels, ...). `path` names the file.
    #[error("{path}: {message}")]
    Data { path: String, message: String },
}

/// `Result` with tapeless' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The same error, reported against `layer` (a network's entry name) instead of the kernel.
    pub fn in_layer(mut self, name: &str) -> Self {
        match &mut self {
            Error::Shape { layer, .. }
            | Error::ClassOutOfRange { layer, .. }
            | Error::Config { layer, .. } => *layer = name.to_owned(),
            Error::Data { .. } => {}
            Error::Io { .. }
            | Error::State { .. }
            | Error::OptimizerState { .. }
            | Error::Checkpoint { .. } => {}
        }
        self
    }
}

/// Returns `Err(Error::Shape)` unless `found == expected`; `expected` may hold `None` for a dim
/// that is free (printed as `N`, the batch).
pub(crate) fn check_shape(
    layer: &str,
    what: &'static str,
    found: &[usize],
    expected: &[Option<usize>],
) -> Result<()> {
    let fits = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|(f, e)| e.is_none_or(|e| e == *f));
    if fits {
        return Ok(());
    }
    let dims: Vec<String> = expected
        .iter()
        .map(|e| e.map_or_else(|| "N".to_owned(), |d| d.to_string()))
        .collect();
    Err(Error::Shape {
        layer: layer.to_owned(),
        what,
        expected: format!("[{}]", dims.join(", ")),
        found: Shape::of(found),
    })
}

pub(crate) fn config_error(layer: &str, message: impl Into<String>) -> Error {
    Error::Config {
        layer: layer.to_owned(),
        message: message.into(),
    }
}

/// Errors unless `found == expected` exactly (no allocation unless it errors).
pub(crate) fn same_shape(
    layer: &str,
    what: &'static str,
    found: &[usize],
    expected: &[usize],
) -> Result<()> {
    if found == expected {
        return Ok(());
    }
    let expected: Vec<Option<usize>> = expected.iter().copied().map(Some).collect();
    check_shape(layer, what, found, &expected)
}
