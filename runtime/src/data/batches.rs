//! Mini-batches of a [`Dataset`]: in order or shuffled per epoch, optionally augmented, as
//! image batches `[B, C, H, W]` or flat batches `[B, C*H*W]`.

use std::iter::FusedIterator;
use std::marker::PhantomData;

use ndarray::{ArrayView, ArrayView1, CowArray, Dim, Dimension, Ix1, Ix2, Ix4};

use crate::init::Rng;

use super::dataset::Dataset;

/// The shape batches are viewed in: [`Images`] (`[B, C, H, W]`) or [`Flat`] (`[B, C*H*W]`).
/// Both are views of the same values, sample after sample.
pub trait Layout {
    /// `Ix4` or `Ix2`.
    type Dim: Dimension;
    /// The shape of a batch of `batch` samples of shape `sample` (`[C, H, W]`).
    fn batch_dim(batch: usize, sample: [usize; 3]) -> Self::Dim;
}

/// Batches shaped `[B, C, H, W]` (NCHW), for networks whose `input` is `[C, H, W]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Images;

/// Batches shaped `[B, C*H*W]`, for networks whose `input` is flat (an MLP's `input: [784]`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flat;

impl Layout for Images {
    type Dim = Ix4;
    fn batch_dim(batch: usize, [c, h, w]: [usize; 3]) -> Ix4 {
        Dim([batch, c, h, w])
    }
}

impl Layout for Flat {
    type Dim = Ix2;
    fn batch_dim(batch: usize, [c, h, w]: [usize; 3]) -> Ix2 {
        Dim([batch, c * h * w])
    }
}

/// Augmentation by random translation: each sample of a batch is shifted by `dy`, `dx` drawn
/// independently and uniformly from `-max..=max` pixels (all channels alike), and the pixels
/// shifted in take the data set's [`fill`](Dataset::fill) value (the normalised value of a black
/// pixel for IDX data, so the background stays background).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub max: usize,
}

/// A batch loader over a [`Dataset`], made by [`Dataset::batches`] and configured by chaining:
///
/// ```no_run
/// # use tapeless_runtime::data::{Mnist, Shift};
/// # fn main() -> tapeless_runtime::Result<()> {
/// let data = Mnist::load("data/mnist-10k")?;
/// let mut loader = data.train.batches(64).shuffled(7).augment(Shift { max: 2 });
/// for _epoch in 0..10 {
///     while let Some((x, y)) = loader.next_batch() {
///         // x: ArrayView4<f32> [64, 1, 28, 28], y: ArrayView1<usize> [64]
///     }   // `None` ends the epoch; the next call starts the next one, reshuffled
/// }
/// # Ok(()) }
/// ```
///
/// # Two ways to iterate
///
/// - [`next_batch`](Batches::next_batch), a lending iterator (`while let`): each batch is a view
///   that lives until the next call. It allocates nothing per batch: unshuffled batches are
///   views into the data set; shuffled or augmented batches are gathered into one batch buffer
///   owned by the loader, allocated at its first batch and reused for every later batch and
///   epoch. After `None` (end of epoch) the next call starts the next epoch. This is the form
///   for training loops.
/// - `for (x, y) in loader` ([`IntoIterator`]), one epoch, items are [`CowArray`]s (use
///   `x.view()`): views into the data set when unshuffled and unaugmented, otherwise each batch
///   is gathered into its own newly allocated arrays (one allocation per batch, since a
///   standard `Iterator` cannot lend a reused buffer).
///
/// # Order and epochs
///
/// Unshuffled, epoch after epoch visits samples `0..N` in order.
/// [`shuffled(seed)`](Batches::shuffled) visits them in a permutation that is a fixed function
/// of `(seed, epoch)` (Fisher–Yates driven by [`Rng`] seeded from both), so a run is
/// reproducible from its seed, every epoch has a different order, and
/// [`set_epoch`](Batches::set_epoch) (PyTorch's `sampler.set_epoch`) can jump to any epoch,
/// e.g. on resuming from a checkpoint. Each epoch visits every sample exactly once; the last
/// batch holds the `N % B` left over unless [`drop_last(true)`](Batches::drop_last) drops it.
#[derive(Clone, Debug)]
pub struct Batches<'a, L: Layout = Images> {
    data: &'a Dataset,
    batch_size: usize,
    drop_last: bool,
    shuffle: bool,
    seed: u64,
    augment: Option<Shift>,
    /// The epoch being read (or about to be).
    epoch: u64,
    /// The next sample position within the epoch.
    pos: usize,
    /// Whether `order` and `aug_rng` are set up for `epoch`.
    prepared: bool,
    /// The epoch's permutation (shuffled only).
    order: Vec<usize>,
    /// The epoch's augmentation draws, in sample-position order.
    aug_rng: Rng,
    /// The batch buffer for gathered batches, `batch_size` samples.
    x: Vec<f32>,
    y: Vec<usize>,
    layout: PhantomData<L>,
}

impl Dataset {
    /// A loader of batches of `batch_size` samples, in order, as `[B, C, H, W]` views: see
    /// [`Batches`] for shuffling, augmentation, flat batches and epochs.
    ///
    /// Panics if `batch_size` is 0 (as `slice::chunks` does).
    pub fn batches(&self, batch_size: usize) -> Batches<'_, Images> {
        assert!(batch_size > 0, "batch size must be at least 1");
        Batches {
            data: self,
            batch_size,
            drop_last: false,
            shuffle: false,
            seed: 0,
            augment: None,
            epoch: 0,
            pos: 0,
            prepared: false,
            order: Vec::new(),
            aug_rng: Rng::new(0),
            x: Vec::new(),
            y: Vec::new(),
            layout: PhantomData,
        }
    }
}

/// Distinct constants for the streams derived from a loader's seed.
const EPOCH_MIX: u64 = 0xD1B5_4A32_D192_ED03;
const SHUFFLE_STREAM: u64 = 0x8CB9_2BA7_2F3D_8DD7;
const AUGMENT_STREAM: u64 = 0xABC9_8388_FB8F_AC03;

/// A generator for one purpose (`stream`) in one epoch, a fixed function of `(seed, epoch)`.
fn epoch_rng(seed: u64, epoch: u64, stream: u64) -> Rng {
    let base = Rng::new(seed).next_u64();
    let mixed = Rng::new(base ^ epoch.wrapping_add(1).wrapping_mul(EPOCH_MIX) ^ stream).next_u64();
    Rng::new(mixed)
}

impl<'a, L: Layout> Batches<'a, L> {
    /// Visits the samples in a new random order every epoch, drawn from `seed` and the epoch
    /// number. Batches become copies gathered into the loader's batch buffer.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle = true;
        self.seed = seed;
        self.restart();
        self
    }

    /// Whether to drop the last batch of an epoch when it holds fewer than `batch_size`
    /// samples (default `false`: keep it).
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self.restart();
        self
    }

    /// Augments every sample of every batch with random shifts (see [`Shift`]). The shifts are
    /// drawn from the loader's seed (the one given to [`shuffled`](Batches::shuffled), else 0)
    /// and the epoch: sample position `p` of epoch `e` gets the same shift in every run, whatever
    /// the batch size. Batches become copies gathered into the loader's batch buffer.
    pub fn augment(mut self, shift: Shift) -> Self {
        self.augment = Some(shift);
        self.restart();
        self
    }

    /// Starts at epoch `e` instead of 0 (builder form of [`set_epoch`](Batches::set_epoch)).
    pub fn epoch(mut self, e: u64) -> Self {
        self.set_epoch(e);
        self
    }

    /// The same loader with flat batches `[B, C*H*W]` (`[B, 784]` for MNIST), for MLPs. Same
    /// values in the same order; views stay views.
    pub fn flat(self) -> Batches<'a, Flat> {
        Batches {
            data: self.data,
            batch_size: self.batch_size,
            drop_last: self.drop_last,
            shuffle: self.shuffle,
            seed: self.seed,
            augment: self.augment,
            epoch: self.epoch,
            pos: self.pos,
            prepared: self.prepared,
            order: self.order,
            aug_rng: self.aug_rng,
            x: self.x,
            y: self.y,
            layout: PhantomData,
        }
    }

    /// Goes to the start of epoch `e`: the next batch is the first of that epoch.
    pub fn set_epoch(&mut self, e: u64) {
        self.epoch = e;
        self.restart();
    }

    /// The epoch the next batch belongs to. After an epoch's last batch and the `None` that
    /// ends it, this is the following epoch.
    pub fn current_epoch(&self) -> u64 {
        self.epoch
    }

    /// The batch size `B` (the last batch of an epoch may be smaller unless dropped).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch: `ceil(N / B)`, or `floor(N / B)` with
    /// [`drop_last(true)`](Batches::drop_last).
    pub fn num_batches(&self) -> usize {
        let n = self.data.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// The next batch of the current epoch: `x` `[B, C, H, W]` (or `[B, C*H*W]` after
    /// [`flat`](Batches::flat)) and `y` `[B]` class ids, both standard layout. `None` ends the
    /// epoch and moves the loader to the next one, so the following call starts it (reshuffled).
    ///
    /// Unshuffled and unaugmented, both are views into the data set; otherwise they view the
    /// loader's batch buffer, overwritten by the next call. Allocates nothing, except the batch
    /// buffer and the permutation on the loader's first batch.
    pub fn next_batch(&mut self) -> Option<Batch<'_, L::Dim>> {
        let (start, size) = self.advance()?;
        let len = self.data.sample_len();
        let dim = L::batch_dim(size, self.data.sample_shape());
        if !self.gathers() {
            let data = self.data;
            return Some(batch_views(data, start, size, dim));
        }
        self.gather(start, size);
        let x = ArrayView::from_shape(dim, &self.x[..size * len]).expect("buffer fits the batch");
        let y = ArrayView1::from(&self.y[..size]);
        Some((x, y))
    }

    /// Whether batches are copies (shuffled or augmented) rather than views.
    fn gathers(&self) -> bool {
        self.shuffle || self.augment.is_some()
    }

    /// Back to the start of the current epoch, recomputing its order.
    fn restart(&mut self) {
        self.pos = 0;
        self.prepared = false;
    }

    /// Sets up the current epoch: permutation, augmentation stream, batch buffer.
    fn prepare(&mut self) {
        if self.shuffle {
            let n = self.data.len();
            self.order.clear();
            self.order.extend(0..n);
            let mut rng = epoch_rng(self.seed, self.epoch, SHUFFLE_STREAM);
            for i in (1..n).rev() {
                let j = rng.below(i + 1);
                self.order.swap(i, j);
            }
        }
        if self.augment.is_some() {
            self.aug_rng = epoch_rng(self.seed, self.epoch, AUGMENT_STREAM);
        }
        if self.gathers() {
            let len = self.batch_size * self.data.sample_len();
            if self.x.len() < len {
                self.x.resize(len, 0.0);
            }
            if self.y.len() < self.batch_size {
                self.y.resize(self.batch_size, 0);
            }
        }
        self.prepared = true;
    }

    /// The next batch's first position and size, or `None` at the end of the epoch (then the
    /// loader moves to the next epoch).
    fn advance(&mut self) -> Option<(usize, usize)> {
        if !self.prepared {
            self.prepare();
        }
        let size = (self.data.len() - self.pos).min(self.batch_size);
        if size == 0 || (self.drop_last && size < self.batch_size) {
            self.epoch += 1;
            self.restart();
            return None;
        }
        let start = self.pos;
        self.pos += size;
        Some((start, size))
    }

    /// Gathers positions `start..start + size` of the epoch into the batch buffer.
    fn gather(&mut self, start: usize, size: usize) {
        let len = self.data.sample_len();
        let (x, y) = (&mut self.x[..size * len], &mut self.y[..size]);
        gather_into(
            self.data,
            self.shuffle.then_some(&self.order[..]),
            self.augment.map(|s| (s, &mut self.aug_rng)),
            start,
            x,
            y,
        );
    }

    /// The remaining batches of this epoch as a standard iterator (see [`BatchIter`]).
    fn into_epoch_iter(self) -> BatchIter<'a, L> {
        BatchIter {
            loader: self,
            done: false,
        }
    }
}

/// Views of positions `start..start + size` of the data set itself.
fn batch_views<'a, D: Dimension>(
    data: &'a Dataset,
    start: usize,
    size: usize,
    dim: D,
) -> Batch<'a, D> {
    let len = data.sample_len();
    let x = ArrayView::from_shape(dim, &data.as_slice()[start * len..(start + size) * len])
        .expect("the data set is contiguous");
    let labels = data.labels_slice();
    (x, ArrayView1::from(&labels[start..start + size]))
}

/// Copies samples `order[start..]` (or `start..` unshuffled) into `x` and `y`, as many as `y`
/// holds, shifting each by a draw from `augment` if given.
fn gather_into(
    data: &Dataset,
    order: Option<&[usize]>,
    mut augment: Option<(Shift, &mut Rng)>,
    start: usize,
    x: &mut [f32],
    y: &mut [usize],
) {
    let len = data.sample_len();
    let pixels = data.as_slice();
    let labels = data.labels_slice();
    let shape = data.sample_shape();
    for (k, (dst, label)) in x.chunks_exact_mut(len).zip(y.iter_mut()).enumerate() {
        let i = order.map_or(start + k, |o| o[start + k]);
        let src = &pixels[i * len..(i + 1) * len];
        *label = labels[i];
        match &mut augment {
            Some((shift, rng)) => {
                let span = 2 * shift.max + 1;
                let dy = rng.below(span) as isize - shift.max as isize;
                let dx = rng.below(span) as isize - shift.max as isize;
                shift_copy(src, dst, shape, dy, dx, data.fill());
            }
            None => dst.copy_from_slice(src),
        }
    }
}

/// `dst[c][r][col] = src[c][r - dy][col - dx]`, or `fill` where that is outside the image.
fn shift_copy(
    src: &[f32],
    dst: &mut [f32],
    [_, h, w]: [usize; 3],
    dy: isize,
    dx: isize,
    fill: f32,
) {
    // Destination columns whose source column is inside the image.
    let col_lo = dx.clamp(0, w as isize) as usize;
    let col_hi = (w as isize + dx).clamp(0, w as isize) as usize;
    for (src, dst) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(h * w)) {
        for (r, row) in dst.chunks_exact_mut(w).enumerate() {
            let sr = r as isize - dy;
            if sr < 0 || sr >= h as isize || col_lo >= col_hi {
                row.fill(fill);
                continue;
            }
            let sr = sr as usize;
            let from = (col_lo as isize - dx) as usize;
            let src_row = &src[sr * w..(sr + 1) * w];
            row[..col_lo].fill(fill);
            row[col_lo..col_hi].copy_from_slice(&src_row[from..from + (col_hi - col_lo)]);
            row[col_hi..].fill(fill);
        }
    }
}

/// One epoch of a [`Batches`] loader as a standard iterator: `for (x, y) in loader`.
///
/// Items are `(x, y)` [`CowArray`]s of the loader's shapes (`x.view()` gives the
/// `ArrayView4`/`ArrayView2`): borrowed views of the data set when the loader neither shuffles
/// nor augments, otherwise arrays gathered for that batch alone (one allocation per batch; use
/// [`Batches::next_batch`] to reuse one buffer). The iterator reads the loader's current epoch
/// from its current position and stops at its end.
#[derive(Clone, Debug)]
pub struct BatchIter<'a, L: Layout = Images> {
    loader: Batches<'a, L>,
    done: bool,
}

/// `(x, y)` of one batch from [`Batches::next_batch`]: images (`[B, C, H, W]` or `[B, C*H*W]`)
/// and class ids `[B]`.
pub type Batch<'b, D> = (ArrayView<'b, f32, D>, ArrayView1<'b, usize>);

/// `(x, y)` of one batch from [`BatchIter`].
pub type CowBatch<'a, D> = (CowArray<'a, f32, D>, CowArray<'a, usize, Ix1>);

impl<'a, L: Layout> Iterator for BatchIter<'a, L> {
    type Item = CowBatch<'a, L::Dim>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let loader = &mut self.loader;
        let Some((start, size)) = loader.advance() else {
            self.done = true;
            return None;
        };
        let data = loader.data;
        let dim = L::batch_dim(size, data.sample_shape());
        if !loader.gathers() {
            let (x, y) = batch_views(data, start, size, dim);
            return Some((CowArray::from(x), CowArray::from(y)));
        }
        let mut x = vec![0.0; size * data.sample_len()];
        let mut y = vec![0; size];
        gather_into(
            data,
            loader.shuffle.then_some(&loader.order[..]),
            loader.augment.map(|s| (s, &mut loader.aug_rng)),
            start,
            &mut x,
            &mut y,
        );
        let x = ndarray::Array::from_shape_vec(dim, x).expect("length fits the batch");
        Some((CowArray::from(x), CowArray::from(ndarray::Array1::from(y))))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.done {
            0
        } else {
            let l = &self.loader;
            let rest = l.data.len() - l.pos;
            if l.drop_last {
                rest / l.batch_size
            } else {
                rest.div_ceil(l.batch_size)
            }
        };
        (left, Some(left))
    }
}

impl<L: Layout> ExactSizeIterator for BatchIter<'_, L> {}
impl<L: Layout> FusedIterator for BatchIter<'_, L> {}

impl<'a, L: Layout> IntoIterator for Batches<'a, L> {
    type Item = CowBatch<'a, L::Dim>;
    type IntoIter = BatchIter<'a, L>;

    /// The rest of the current epoch (all of it for a fresh loader), as a standard iterator.
    fn into_iter(self) -> BatchIter<'a, L> {
        self.into_epoch_iter()
    }
}
