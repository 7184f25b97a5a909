//! Reading the PyTorch fixtures that `tests/fixtures/make_kernel_fixtures.py` writes.
#![allow(dead_code, unused_imports)] // each test binary uses its own part of this module

pub mod alloc;
pub mod networks;
pub mod optim;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use tapeless::ndarray::{ArrayD, IxDyn};
use tapeless::Float;

/// An element type a fixture can be read in, with the tolerance tests hold it to.
pub trait FixtureFloat: Float {
    /// Suffix of the tensor names computed by PyTorch in this type.
    const SUFFIX: &'static str;
    /// Relative tolerance against PyTorch (the issue's: 1e-10 in f64, 1e-5 in f32).
    const RTOL: f64;
    /// Entries smaller than `FLOOR × max|expected|` are held to that scale instead of their
    /// own: they come from cancellation in sums whose rounding error is that of the larger
    /// terms. f32 gradients of deep layers sum thousands of terms, hence its larger floor.
    const FLOOR: f64;
    fn decode(bytes: &[u8]) -> Vec<Self>;
}

impl FixtureFloat for f64 {
    const SUFFIX: &'static str = "";
    const RTOL: f64 = 1e-10;
    const FLOOR: f64 = 1e-2;
    fn decode(bytes: &[u8]) -> Vec<Self> {
        bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
}

impl FixtureFloat for f32 {
    const SUFFIX: &'static str = ".f32";
    const RTOL: f64 = 1e-5;
    const FLOOR: f64 = 1e-1;
    fn decode(bytes: &[u8]) -> Vec<Self> {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
}

/// One fixture file: a case of one op, its options and its tensors.
pub struct Fixture {
    pub name: String,
    bytes: Vec<u8>,
    meta: HashMap<String, String>,
}

pub fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

impl Fixture {
    /// Every kernel fixture whose `op` is `op`, sorted by name; panics if there are none, so a
    /// lost fixture directory cannot make a test pass vacuously.
    pub fn all(op: &str) -> Vec<Fixture> {
        let dir = fixture_dir("kernels");
        let mut found: Vec<Fixture> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .map(|p| Fixture::read(&p))
            .filter(|f| f.meta("op") == op)
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        assert!(
            !found.is_empty(),
            "no fixtures for op {op} in {}",
            dir.display()
        );
        found
    }

    /// The whole-network fixture `name` (`tests/fixtures/make_network_fixtures.py`).
    pub fn network(name: &str) -> Fixture {
        Fixture::read(&fixture_dir("networks").join(format!("{name}.safetensors")))
    }

    pub fn read(path: &Path) -> Fixture {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("valid safetensors header");
        Fixture {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            meta: metadata.metadata().clone().unwrap_or_default(),
            bytes,
        }
    }

    pub fn meta(&self, key: &str) -> &str {
        self.meta
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{}: no metadata {key}", self.name))
    }

    /// A metadata pair written "h,w".
    pub fn pair(&self, key: &str) -> (usize, usize) {
        let v = self.meta(key);
        let (h, w) = v
            .split_once(',')
            .unwrap_or_else(|| panic!("{}: {key}={v}", self.name));
        (h.trim().parse().unwrap(), w.trim().parse().unwrap())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.meta(key) == "true"
    }

    /// Every tensor name in the file.
    pub fn names(&self) -> Vec<String> {
        self.tensors()
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The stored dtype of `tensor`, as safetensors names it (`"F64"`, `"I64"`, ...).
    pub fn dtype(&self, tensor: &str) -> String {
        let tensors = self.tensors();
        let view = tensors
            .tensor(tensor)
            .unwrap_or_else(|e| panic!("{}: {tensor}: {e}", self.name));
        format!("{:?}", view.dtype())
    }

    pub fn has(&self, tensor: &str) -> bool {
        self.tensors().tensor(tensor).is_ok()
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("valid safetensors")
    }

    /// Float tensor `name` as PyTorch computed it in `T`.
    pub fn get<T: FixtureFloat>(&self, name: &str) -> ArrayD<T> {
        let full = format!("{name}{}", T::SUFFIX);
        let tensors = self.tensors();
        let view = tensors
            .tensor(&full)
            .unwrap_or_else(|e| panic!("{}: tensor {full}: {e}", self.name));
        let expected = if T::SUFFIX.is_empty() {
            Dtype::F64
        } else {
            Dtype::F32
        };
        assert_eq!(view.dtype(), expected, "{}: {full}", self.name);
        ArrayD::from_shape_vec(IxDyn(view.shape()), T::decode(view.data())).unwrap()
    }

    /// Integer tensor `name` (class ids, argmax indices), stored once as int64.
    pub fn ids(&self, name: &str) -> ArrayD<usize> {
        let tensors = self.tensors();
        let view = tensors
            .tensor(name)
            .unwrap_or_else(|e| panic!("{}: tensor {name}: {e}", self.name));
        assert_eq!(view.dtype(), Dtype::I64, "{}: {name}", self.name);
        let values = view
            .data()
            .chunks_exact(8)
            .map(|b| usize::try_from(i64::from_le_bytes(b.try_into().unwrap())).unwrap())
            .collect();
        ArrayD::from_shape_vec(IxDyn(view.shape()), values).unwrap()
    }
}

/// Asserts `actual ≈ expected` elementwise: `|a − e| ≤ RTOL · max(|e|, FLOOR · max|expected|)`,
/// i.e. relative, except for entries far below the tensor's largest (see [`FixtureFloat::FLOOR`]).
pub fn assert_close<T: FixtureFloat>(
    case: &str,
    what: &str,
    actual: &ArrayD<T>,
    expected: &ArrayD<T>,
) {
    assert_eq!(actual.shape(), expected.shape(), "{case}: {what}: shape");
    let scale = expected
        .iter()
        .fold(0.0f64, |m, v| m.max(v.to_f64().unwrap().abs()));
    for (i, (a, e)) in actual.iter().zip(expected.iter()).enumerate() {
        let (a, e) = (a.to_f64().unwrap(), e.to_f64().unwrap());
        let tol = T::RTOL * e.abs().max(T::FLOOR * scale);
        assert!(
            (a - e).abs() <= tol || (a == e),
            "{case} ({}): {what}[{i}] = {a:e}, PyTorch {e:e}, |diff| {:e} > tol {tol:e}",
            std::any::type_name::<T>(),
            (a - e).abs()
        );
    }
}
