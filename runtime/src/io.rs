//! Checkpoints as safetensors, with PyTorch's parameter names and layouts, so that
//! `model.load_state_dict(safetensors.torch.load_file(path))` loads what tapeless saves and
//! tapeless loads what `safetensors.torch.save_file(model.state_dict(), path)` writes.
//!
//! Loading checks the whole file against the network first (every tensor present, nothing
//! extra, shapes and dtype equal) and only then copies: a bad file is an `Err` naming the
//! tensor, and the network is left as it was. Saving writes a temporary file and renames it, so
//! an interrupted save never leaves a half-written checkpoint in place.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use safetensors::tensor::{Dtype, SafeTensors};

use crate::element::Float;
use crate::error::{Error, Result, Shape};
use crate::network::Network;
use crate::optim::{Optimizer, OptimizerState};

/// One tensor ready to be written: dtype, shape and little-endian bytes.
struct Encoded {
    dtype: &'static str,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn dtype_of<T: Float>() -> Dtype {
    if T::DTYPE == "F64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

fn encode<T: Float>(x: ArrayViewD<'_, T>) -> Encoded {
    let mut bytes = Vec::with_capacity(x.len() * std::mem::size_of::<T>());
    for &v in x.iter() {
        v.write_le(&mut bytes); // logical (row-major) order, whatever the view's strides
    }
    Encoded {
        dtype: T::DTYPE,
        shape: x.shape().to_vec(),
        bytes,
    }
}

/// The safetensors bytes of `tensors`: an 8-byte header length, the JSON header padded with
/// spaces to a multiple of 8, then the data in header order. Keys are sorted (serde_json's map
/// is ordered), so the same tensors always give the same bytes.
fn serialize(tensors: &BTreeMap<String, Encoded>, metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".to_owned(), serde_json::json!(metadata));
    }
    let mut offset = 0usize;
    for (name, t) in tensors {
        let end = offset + t.bytes.len();
        header.insert(
            name.clone(),
            serde_json::json!({ "dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for t in tensors.values() {
        out.extend_from_slice(&t.bytes);
    }
    out
}

fn checkpoint_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Writes named tensors and string metadata to `path` as safetensors, atomically and
/// deterministically (the same tensors give the same bytes).
pub fn write_tensors<T: Float>(
    path: impl AsRef<Path>,
    tensors: Vec<(String, ArrayViewD<'_, T>)>,
    metadata: HashMap<String, String>,
) -> Result<()> {
    let path = path.as_ref();
    let encoded: BTreeMap<String, Encoded> = tensors
        .into_iter()
        .map(|(name, x)| (name, encode(x)))
        .collect();
    let bytes = serialize(&encoded, &metadata.into_iter().collect());
    let tmp = path.with_extension("safetensors.tmp");
    let io_error = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io_error)?;
    std::fs::rename(&tmp, path).map_err(io_error)
}

/// The tensors of a safetensors file, read whole and validated as safetensors.
pub struct TensorFile {
    path: String,
    bytes: Vec<u8>,
}

impl TensorFile {
    /// Reads `path`; a truncated or corrupt file is an `Err` naming it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        SafeTensors::deserialize(&bytes)
            .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file ({e})")))?;
        Ok(TensorFile {
            path: path.display().to_string(),
            bytes,
        })
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("validated in open")
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Checkpoint {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// The file's string metadata (`__metadata__`).
    pub fn metadata(&self) -> HashMap<String, String> {
        SafeTensors::read_metadata(&self.bytes)
            .ok()
            .and_then(|(_, m)| m.metadata().clone())
            .unwrap_or_default()
    }

    /// Every tensor name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tensors()
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }

    /// Tensor `name`, if it exists and holds `T`s.
    fn typed_view<T: Float>(&self, name: &str) -> Result<safetensors::tensor::TensorView<'_>> {
        let view = self
            .tensors()
            .tensor(name)
            .map_err(|_| self.error(format!("tensor `{name}` is missing")))?;
        if view.dtype() != dtype_of::<T>() {
            return Err(self.error(format!(
                "tensor `{name}` is {:?}, but the network computes in {}",
                view.dtype(),
                T::DTYPE
            )));
        }
        Ok(view)
    }

    /// Checks that tensor `name` exists with `shape` and `T`'s dtype.
    pub fn check<T: Float>(&self, name: &str, shape: &[usize]) -> Result<()> {
        let view = self.typed_view::<T>(name)?;
        if view.shape() != shape {
            return Err(self.error(format!(
                "tensor `{name}` has shape {}, but the network's is {}",
                Shape::of(view.shape()),
                Shape::of(shape)
            )));
        }
        Ok(())
    }

    /// Tensor `name` as an array of `T`, whatever its shape.
    pub fn read<T: Float>(&self, name: &str) -> Result<ArrayD<T>> {
        let view = self.typed_view::<T>(name)?;
        let values: Vec<T> = view
            .data()
            .chunks_exact(std::mem::size_of::<T>())
            .map(T::read_le)
            .collect();
        ArrayD::from_shape_vec(IxDyn(view.shape()), values)
            .map_err(|_| self.error(format!("tensor `{name}`: data does not match its shape")))
    }
}

/// Saves every parameter of `net` to `path`, named as in PyTorch's `state_dict()`.
pub fn save<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<()> {
    let mut tensors = Vec::new();
    net.visit_parameters(&mut |name, value, _| tensors.push((name.to_owned(), value.to_owned())));
    let views = tensors.iter().map(|(n, v)| (n.clone(), v.view())).collect();
    let metadata = HashMap::from([
        ("format".to_owned(), "pt".to_owned()),
        ("tapeless.network".to_owned(), N::NAME.to_owned()),
    ]);
    write_tensors(path, views, metadata)
}

/// Loads every parameter of `net` from `path`. A missing, extra, wrongly shaped or wrongly
/// typed tensor, or a truncated or corrupt file, is an `Err` naming it, and `net` is unchanged.
pub fn load<N: Network>(net: &mut N, path: impl AsRef<Path>) -> Result<()> {
    let file = TensorFile::open(path)?;
    let mut expected: Vec<(&'static str, Vec<usize>)> = Vec::new();
    net.visit_parameters(&mut |name, value, _| expected.push((name, value.shape().to_vec())));
    for (name, shape) in &expected {
        file.check::<N::Elem>(name, shape)?;
    }
    let extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !expected.iter().any(|(e, _)| e == n))
        .collect();
    if !extra.is_empty() {
        return Err(file.error(format!(
            "unexpected tensor{} {} (not parameters of {})",
            if extra.len() == 1 { "" } else { "s" },
            extra
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            N::NAME
        )));
    }
    // Everything fits: read it all, then copy, so nothing can fail half-way.
    let mut values = Vec::with_capacity(expected.len());
    for (name, _) in &expected {
        values.push(file.read::<N::Elem>(name)?);
    }
    let mut values = values.into_iter();
    net.visit_parameters_mut(&mut |mut p| {
        if let Some(v) = values.next() {
            p.value.assign(&v);
        }
    });
    Ok(())
}

/// Saves an optimizer's state (`"<buffer>/<parameter>"` tensors, the step count, the learning
/// rate, and the buffers' order, which is the network's parameter order).
pub fn save_optimizer<T: Float, O: Optimizer<T>>(
    optimizer: &O,
    path: impl AsRef<Path>,
) -> Result<()> {
    let state = optimizer.state();
    let order: Vec<&str> = state.buffers.iter().map(|(n, _)| n.as_str()).collect();
    let metadata = HashMap::from([
        ("tapeless.steps".to_owned(), state.steps.to_string()),
        ("tapeless.lr".to_owned(), format!("{:e}", optimizer.lr())),
        ("tapeless.order".to_owned(), order.join("\n")),
    ]);
    let views = state
        .buffers
        .iter()
        .map(|(n, v)| (n.clone(), v.view()))
        .collect();
    write_tensors(path, views, metadata)
}

/// Restores an optimizer saved by [`save_optimizer`]; on error the optimizer is unchanged.
pub fn load_optimizer<T: Float, O: Optimizer<T>>(
    optimizer: &mut O,
    path: impl AsRef<Path>,
) -> Result<()> {
    let file = TensorFile::open(path)?;
    let metadata = file.metadata();
    let number = |key: &str| {
        metadata
            .get(key)
            .ok_or_else(|| file.error(format!("metadata `{key}` is missing")))
    };
    let steps = number("tapeless.steps")?
        .parse::<u64>()
        .map_err(|e| file.error(format!("metadata `tapeless.steps`: {e}")))?;
    let lr = number("tapeless.lr")?
        .parse::<f64>()
        .map_err(|e| file.error(format!("metadata `tapeless.lr`: {e}")))?;
    let order = number("tapeless.order")?;
    let names: Vec<&str> = order.split('\n').filter(|n| !n.is_empty()).collect();
    let mut stored = file.names();
    stored.sort();
    let mut listed: Vec<&str> = names.clone();
    listed.sort();
    if stored != listed {
        return Err(
            file.error("its tensors are not the buffers its metadata `tapeless.order` lists")
        );
    }
    let mut buffers = Vec::with_capacity(names.len());
    for name in names {
        buffers.push((name.to_owned(), file.read::<T>(name)?));
    }
    optimizer.load_state(OptimizerState { steps, buffers })?;
    optimizer.set_lr(lr);
    Ok(())
}
