//! MNIST (and Fashion-MNIST, which ships the same files) from a directory of IDX files.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::dataset::{Dataset, Normalize};
use super::idx::data_error;

/// The training and test sets of MNIST or a data set published in its form.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    pub train: Dataset,
    pub test: Dataset,
}

/// Number of classes: digits 0..=9 (Fashion-MNIST also has ten).
const CLASSES: usize = 10;

impl Mnist {
    /// Reads the four IDX files in `dir`, normalised with [`Normalize::MNIST`].
    ///
    /// File names, each plain or gzip (recognised by its content, not its name):
    /// - `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`;
    /// - `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]` as published, or
    ///   `test-images-idx3-ubyte[.gz]`, `test-labels-idx1-ubyte[.gz]` (this repository's
    ///   `data/mnist-10k`).
    ///
    /// Where several candidates exist the first in that order wins, `.gz` before plain. Images
    /// become `[N, 1, rows, cols]` `f32`; labels must be `0..=9`.
    ///
    /// Errors name the file: [`Error::Io`] if none of a file's names exists (naming the first
    /// candidate and listing the others) or it cannot be read; [`Error::Data`] if it is not a
    /// valid IDX file of its kind, if images and labels differ in count, or a label is not
    /// below 10.
    pub fn load(dir: impl AsRef<Path>) -> Result<Mnist> {
        Self::load_with(dir, Normalize::MNIST)
    }

    /// [`load`](Mnist::load) with another normalisation, e.g. [`Normalize::FASHION_MNIST`] for
    /// Fashion-MNIST or [`Normalize::UNIT`] for plain `[0, 1]` pixels.
    pub fn load_with(dir: impl AsRef<Path>, norm: Normalize) -> Result<Mnist> {
        let dir = dir.as_ref();
        Ok(Mnist {
            train: load_split(dir, &["train"], norm)?,
            test: load_split(dir, &["t10k", "test"], norm)?,
        })
    }
}

fn load_split(dir: &Path, prefixes: &[&str], norm: Normalize) -> Result<Dataset> {
    let images = find(dir, prefixes, "images-idx3-ubyte")?;
    let labels = find(dir, prefixes, "labels-idx1-ubyte")?;
    let data = Dataset::from_idx_files(&images, &labels, norm)?;
    if let Some((i, &l)) = data
        .labels()
        .iter()
        .enumerate()
        .find(|(_, &l)| l >= CLASSES)
    {
        return Err(data_error(
            &labels,
            format!(
                "label {l} of item {i} is not a class id 0..={}",
                CLASSES - 1
            ),
        ));
    }
    Ok(data)
}

/// The first existing file among `{prefix}-{stem}.gz`, `{prefix}-{stem}` for each prefix.
fn find(dir: &Path, prefixes: &[&str], stem: &str) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = prefixes
        .iter()
        .flat_map(|p| [format!("{p}-{stem}.gz"), format!("{p}-{stem}")])
        .map(|name| dir.join(name))
        .collect();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let others: Vec<String> = candidates[1..]
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Err(Error::Io {
        path: candidates[0].display().to_string(),
        source: io::Error::new(
            io::ErrorKind::NotFound,
            format!("no such file, nor {}", others.join(", ")),
        ),
    })
}
