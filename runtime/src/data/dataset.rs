//! An in-memory data set of images and class ids, normalised once when it is built.

use std::path::Path;

use ndarray::{s, Array1, Array4, ArrayView1, ArrayView2, ArrayView3, ArrayView4, Axis};

use crate::error::{Error, Result, Shape};

use super::idx::{self, data_error, IdxImages};

/// How raw bytes become network inputs: `x = (byte / 255 - mean) / std`, computed in `f32` in
/// that order, so values are bit-identical to torchvision's `ToTensor()` followed by
/// `Normalize((mean,), (std,))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalize {
    pub mean: f32,
    pub std: f32,
}

impl Normalize {
    /// The usual MNIST recipe: mean 0.1307, std 0.3081 (the official training set's pixel
    /// statistics on the `[0, 1]` scale).
    pub const MNIST: Normalize = Normalize {
        mean: 0.1307,
        std: 0.3081,
    };
    /// Fashion-MNIST's training-set statistics: mean 0.2860, std 0.3530.
    pub const FASHION_MNIST: Normalize = Normalize {
        mean: 0.2860,
        std: 0.3530,
    };
    /// No centring: `byte / 255`, in `[0, 1]` (torchvision's `ToTensor()` alone).
    pub const UNIT: Normalize = Normalize {
        mean: 0.0,
        std: 1.0,
    };

    /// The normalised value of one raw byte.
    pub fn apply(&self, byte: u8) -> f32 {
        (f32::from(byte) / 255.0 - self.mean) / self.std
    }

    /// The normalised value of every byte, indexed by the byte.
    fn table(&self) -> [f32; 256] {
        std::array::from_fn(|b| self.apply(b as u8))
    }
}

/// Samples for supervised classification: images `[N, C, H, W]` (NCHW, the layout of
/// `input: [C, H, W]`) in `f32`, and one class id per image.
///
/// The images are stored once, contiguous, in standard (row-major) layout; every accessor and
/// every unshuffled batch is a view into that storage. Subsets ([`take`](Dataset::take),
/// [`split`](Dataset::split)) are copies. Batches come from [`batches`](Dataset::batches).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    images: Array4<f32>,
    labels: Array1<usize>,
    fill: f32,
}

impl Dataset {
    /// A data set of already-normalised images `[N, C, H, W]` and `N` class ids. The images are
    /// copied into standard layout if they are not in it. Errors if the counts differ.
    ///
    /// Pixels shifted in by augmentation take the value `0.0`; see
    /// [`with_fill`](Dataset::with_fill).
    pub fn new(images: Array4<f32>, labels: Array1<usize>) -> Result<Self> {
        if images.len_of(Axis(0)) != labels.len() {
            return Err(Error::Shape {
                layer: "Dataset".to_owned(),
                what: "labels",
                expected: format!("[{}] (one per image)", images.len_of(Axis(0))),
                found: Shape::of(labels.shape()),
            });
        }
        let images = if images.is_standard_layout() {
            images
        } else {
            images.as_standard_layout().into_owned()
        };
        Ok(Dataset {
            images,
            labels,
            fill: 0.0,
        })
    }

    /// The data set of an IDX image file and an IDX label file (see [`idx`]), each plain or
    /// gzip, normalised with `norm`. Images get one channel: `[count, 1, rows, cols]`.
    ///
    /// Errors name the file: it is missing or unreadable ([`Error::Io`]), or it is not a valid
    /// IDX file of its kind, or the two files hold different numbers of items ([`Error::Data`],
    /// naming the label file and giving both counts).
    pub fn from_idx_files(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        norm: Normalize,
    ) -> Result<Self> {
        let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
        let images = idx::read_images(images_path)?;
        let labels = idx::read_labels(labels_path)?;
        if labels.len() != images.count {
            return Err(data_error(
                labels_path,
                format!(
                    "holds {} labels, but {} holds {} images",
                    labels.len(),
                    images_path.display(),
                    images.count
                ),
            ));
        }
        Ok(Self::from_idx(&images, &labels, norm))
    }

    /// The data set of IDX images and labels already read; `labels.len()` must be
    /// `images.count` (panics otherwise: [`from_idx_files`](Dataset::from_idx_files) checks it
    /// as an error). Shifted-in pixels take the value of a black (zero) byte.
    pub fn from_idx(images: &IdxImages, labels: &[u8], norm: Normalize) -> Self {
        assert_eq!(labels.len(), images.count, "one label per image");
        let table = norm.table();
        let pixels: Vec<f32> = images.pixels.iter().map(|&b| table[b as usize]).collect();
        let images = Array4::from_shape_vec((images.count, 1, images.rows, images.cols), pixels)
            .expect("IDX reader checked the length");
        let labels = labels.iter().map(|&l| usize::from(l)).collect();
        Dataset {
            images,
            labels,
            fill: norm.apply(0),
        }
    }

    /// The same data set, with `fill` as the value of pixels that augmentation shifts in (the
    /// normalised background, e.g. `Normalize::MNIST.apply(0)` = -0.4242).
    pub fn with_fill(mut self, fill: f32) -> Self {
        self.fill = fill;
        self
    }

    /// The value of pixels that augmentation shifts in: the normalised value of a zero byte for
    /// IDX data, `0.0` for [`Dataset::new`].
    pub fn fill(&self) -> f32 {
        self.fill
    }

    /// The number of samples, `N`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// One sample's shape `[C, H, W]` (`[1, 28, 28]` for MNIST).
    pub fn sample_shape(&self) -> [usize; 3] {
        let (_, c, h, w) = self.images.dim();
        [c, h, w]
    }

    /// One sample's number of values, `C * H * W` (784 for MNIST).
    pub fn sample_len(&self) -> usize {
        self.sample_shape().iter().product()
    }

    /// All images, `[N, C, H, W]`: a view, standard layout.
    pub fn images(&self) -> ArrayView4<'_, f32> {
        self.images.view()
    }

    /// All images flattened per sample, `[N, C * H * W]` (e.g. `[N, 784]` for an MLP): a view
    /// of the same storage.
    pub fn images_flat(&self) -> ArrayView2<'_, f32> {
        let n = self.len();
        ArrayView2::from_shape((n, self.sample_len()), self.as_slice()).expect("standard layout")
    }

    /// All class ids, `[N]`: a view.
    pub fn labels(&self) -> ArrayView1<'_, usize> {
        self.labels.view()
    }

    /// Sample `i`: its image `[C, H, W]` (a view) and class id. Panics if `i >= len()`.
    pub fn get(&self, i: usize) -> (ArrayView3<'_, f32>, usize) {
        (self.images.index_axis(Axis(0), i), self.labels[i])
    }

    /// How many samples each class has, indexed by class id (`max id + 1` entries).
    pub fn class_counts(&self) -> Vec<usize> {
        let classes = self.labels.iter().max().map_or(0, |&m| m + 1);
        let mut counts = vec![0; classes];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }

    /// The first `n` samples (all of them if `n >= len()`), copied into a new data set.
    pub fn take(&self, n: usize) -> Dataset {
        self.range(0, n.min(self.len()))
    }

    /// The samples before `at` and those from `at` on (`at` is clamped to `len()`), copied into
    /// two new data sets: e.g. a validation set split off the training set.
    pub fn split(&self, at: usize) -> (Dataset, Dataset) {
        let at = at.min(self.len());
        (self.range(0, at), self.range(at, self.len()))
    }

    fn range(&self, start: usize, end: usize) -> Dataset {
        Dataset {
            images: self.images.slice(s![start..end, .., .., ..]).to_owned(),
            labels: self.labels.slice(s![start..end]).to_owned(),
            fill: self.fill,
        }
    }

    /// All pixel values, sample after sample.
    pub(crate) fn as_slice(&self) -> &[f32] {
        self.images.as_slice().expect("standard layout")
    }

    /// All class ids.
    pub(crate) fn labels_slice(&self) -> &[usize] {
        self.labels.as_slice().expect("standard layout")
    }
}
