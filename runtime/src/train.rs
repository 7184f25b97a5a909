//! A small training loop for classifiers, written as the loop a PyTorch user writes by hand.
//!
//! - [`fit`] trains for some epochs and evaluates after each one, printing one line an epoch
//!   and returning the history ([`EpochRecord`]s) for plots.
//! - [`train_epoch`] is one epoch of the loop itself: `loss`, `backward`, `step`, `zero_grad`,
//!   batch after batch, with a [`Progress`] line.
//! - [`evaluate`] measures the mean cross-entropy and the accuracy of a network on a data set.
//! - [`Progress`] is the progress line: per batch, on stderr, loss and samples/s, redrawn in
//!   place when stderr is a terminal and silent otherwise (logs and CI stay clean).
//!
//! None of these hide anything: `fit` is [`train_epoch`] and [`evaluate`] in a `for` loop, and
//! `train_epoch` is the four calls every training loop makes. A user who wants another loop
//! (gradient accumulation, a schedule per step, early stopping) writes it with the same calls:
//!
//! ```no_run
//! # use tapeless_runtime::{data::Mnist, optim::{Adam, Optimizer}, train::{evaluate, Progress},
//! #     Network, Target, Result};
//! # fn run<N: Network<Elem = f32>>(net: &mut N) -> Result<()> {
//! let data = Mnist::load("data/mnist-10k")?;
//! let mut opt = Adam::new(1e-3);
//! let mut loader = data.train.batches(64).shuffled(7);
//! for epoch in 1..=5 {
//!     let mut progress = Progress::new(format!("epoch {epoch}/5"), loader.num_batches());
//!     while let Some((x, y)) = loader.next_batch() {
//!         let loss = net.loss_dyn(x.into_dyn(), Target::Classes(y))?;
//!         net.backward()?;
//!         opt.step(net);
//!         net.zero_grad();
//!         progress.update(y.len(), f64::from(loss));
//!     }
//!     progress.finish();
//!     let (test_loss, test_accuracy) = evaluate(net, &data.test)?;
//!     println!("epoch {epoch}: test loss {test_loss:.4}, accuracy {:.2}%", 100.0 * test_accuracy);
//! }
//! # Ok(()) }
//! ```
//!
//! Data sets hold `f32` images, so these helpers take networks of `f32` (the default dtype).
//! A data set's samples are given to the network in its declared input shape: `[C, H, W]`
//! images for a CNN, flattened to `[C*H*W]` for an MLP whose `input` is flat (a free reshape).

use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use ndarray::{ArrayView1, ArrayView2, ArrayViewD, Axis, Dimension, Ix2, IxDyn};

use crate::data::{Batches, Dataset, Layout, Shift};
use crate::error::{Error, Result, Shape};
use crate::loss::{cross_entropy, Reduction};
use crate::network::{Network, Target};
use crate::optim::Optimizer;

/// The batch size [`evaluate`] uses: large enough for efficient GEMMs, small enough that a CNN's
/// activation buffers (kept by the network for its largest batch) stay modest.
pub const EVAL_BATCH_SIZE: usize = 256;

/// What [`fit`] does: how many epochs, in batches of which size, shuffled from which seed,
/// augmented or not, and what it evaluates and prints.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples a batch (the last batch of an epoch holds the rest).
    pub batch_size: usize,
    /// Seed of the per-epoch shuffling and of the augmentation draws.
    pub seed: u64,
    /// Random shifts of the training images (none for evaluation).
    pub augment: Option<Shift>,
    /// How many training samples (the first ones, un-augmented) to measure the accuracy on
    /// after each epoch, for [`EpochRecord::train_accuracy`]: `usize::MAX` (the default) for
    /// the whole training set, fewer to save time (it costs a forward pass over them), 0 for
    /// none.
    pub train_eval_samples: usize,
    /// Batch size of the evaluations.
    pub eval_batch_size: usize,
    /// Print one line an epoch on stdout (the progress line on stderr is separate: it shows
    /// when stderr is a terminal).
    pub verbose: bool,
}

impl Default for TrainConfig {
    /// 10 epochs of batches of 64, seed 0, no augmentation, accuracy on the whole training set
    /// and the test set after each epoch, printed.
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            seed: 0,
            augment: None,
            train_eval_samples: usize::MAX,
            eval_batch_size: EVAL_BATCH_SIZE,
            verbose: true,
        }
    }
}

/// What one epoch of [`fit`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean of the training loss over the epoch's batches, weighted by batch size (for a loss
    /// with mean reduction, the mean loss per sample while the network was learning).
    pub train_loss: f64,
    /// Accuracy on the training set (or the part of it [`TrainConfig::train_eval_samples`]
    /// says) after the epoch, in `[0, 1]`; `None` if that is 0.
    pub train_accuracy: Option<f64>,
    /// Mean cross-entropy on the test set after the epoch (see [`evaluate`]).
    pub test_loss: f64,
    /// Accuracy on the test set after the epoch, in `[0, 1]`.
    pub test_accuracy: f64,
    /// The learning rate the epoch was trained with.
    pub lr: f64,
    /// Seconds spent training (the batches of the epoch).
    pub train_seconds: f64,
    /// Seconds spent evaluating after it.
    pub eval_seconds: f64,
    /// Training throughput: samples of the epoch / `train_seconds`.
    pub samples_per_second: f64,
}

impl fmt::Display for EpochRecord {
    /// `loss 0.2811  train 95.41%  test 95.30% (loss 0.1523)  lr 1.00e-3  6.1 s (eval 1.8 s)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loss {:.4}  ", self.train_loss)?;
        if let Some(acc) = self.train_accuracy {
            write!(f, "train {:.2}%  ", 100.0 * acc)?;
        }
        write!(
            f,
            "test {:.2}% (loss {:.4})  lr {:.2e}  {:.1} s (eval {:.1} s)",
            100.0 * self.test_accuracy,
            self.test_loss,
            self.lr,
            self.train_seconds + self.eval_seconds,
            self.eval_seconds
        )
    }
}

/// Trains `net` with `opt` on `train` for `config.epochs` epochs, evaluating on `test` after
/// each, and returns one [`EpochRecord`] an epoch.
///
/// Each epoch is [`train_epoch`] over shuffled (and, if asked, augmented) batches, then
/// [`evaluate`] on the training set (or its first `config.train_eval_samples`) and on `test`,
/// then one line on stdout (if `config.verbose`), then `after_epoch(opt)`: step a
/// learning-rate schedule there, e.g. `|opt| scheduler.step(opt)`, or pass `|_| {}`.
///
/// ```no_run
/// # use tapeless_runtime::{data::{Mnist, Shift}, optim::{Adam, CosineAnnealingLR, LrScheduler},
/// #     train::{fit, TrainConfig}, Network, Result};
/// # fn run<N: Network<Elem = f32>>(net: &mut N) -> Result<()> {
/// let data = Mnist::load("data/mnist-10k")?;
/// let mut opt = Adam::new(1e-3);
/// let mut schedule = CosineAnnealingLR::new(&opt, 12, 0.0);
/// let config = TrainConfig {
///     epochs: 12,
///     augment: Some(Shift { max: 2 }),
///     ..TrainConfig::default()
/// };
/// let history = fit(net, &mut opt, &data.train, &data.test, &config, |opt| schedule.step(opt))?;
/// println!("best test accuracy {:.2}%",
///     100.0 * history.iter().map(|r| r.test_accuracy).fold(0.0, f64::max));
/// # Ok(()) }
/// ```
///
/// Errors are those of the network (a data set whose samples do not fit its input, a class id
/// out of range), returned at the first batch that has one.
pub fn fit<N, O>(
    net: &mut N,
    opt: &mut O,
    train: &Dataset,
    test: &Dataset,
    config: &TrainConfig,
    mut after_epoch: impl FnMut(&mut O),
) -> Result<Vec<EpochRecord>>
where
    N: Network<Elem = f32>,
    O: Optimizer<f32>,
{
    let mut loader = train.batches(config.batch_size).shuffled(config.seed);
    if let Some(shift) = config.augment {
        loader = loader.augment(shift);
    }
    // A copy of the first samples if only those are evaluated (once, not every epoch).
    let train_subset =
        (config.train_eval_samples < train.len()).then(|| train.take(config.train_eval_samples));
    let train_eval = train_subset.as_ref().unwrap_or(train);
    let width = config.epochs.to_string().len();
    let mut history = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let lr = opt.lr();
        let label = format!("epoch {epoch:>width$}/{}", config.epochs);
        let mut progress = Progress::new(&label, loader.num_batches());
        let started = Instant::now();
        let train_loss = train_epoch(net, opt, &mut loader, &mut progress)?;
        let train_seconds = started.elapsed().as_secs_f64();
        progress.finish();

        let started = Instant::now();
        let train_accuracy = if train_eval.is_empty() {
            None
        } else {
            Some(evaluate_batched(net, train_eval, config.eval_batch_size)?.1)
        };
        let (test_loss, test_accuracy) = evaluate_batched(net, test, config.eval_batch_size)?;
        let record = EpochRecord {
            epoch,
            train_loss,
            train_accuracy,
            test_loss,
            test_accuracy,
            lr,
            train_seconds,
            eval_seconds: started.elapsed().as_secs_f64(),
            samples_per_second: progress.samples() as f64 / train_seconds,
        };
        if config.verbose {
            println!("{label}  {record}");
        }
        history.push(record);
        after_epoch(opt);
    }
    Ok(history)
}

/// One epoch of training: for every batch left in the loader's current epoch, `loss`,
/// `backward`, `step`, `zero_grad`, and a progress update. Returns the mean loss over the
/// epoch's batches, weighted by batch size (NaN if there was no batch).
///
/// Errors are the network's, at the first batch that has one (that batch changes nothing).
pub fn train_epoch<N, O, L>(
    net: &mut N,
    opt: &mut O,
    loader: &mut Batches<'_, L>,
    progress: &mut Progress,
) -> Result<f64>
where
    N: Network<Elem = f32>,
    O: Optimizer<f32>,
    L: Layout,
{
    let (mut loss_sum, mut samples) = (0.0, 0);
    while let Some((x, y)) = loader.next_batch() {
        let x = as_input::<N>(x.into_dyn())?;
        let loss = f64::from(net.loss_dyn(x, Target::Classes(y))?);
        net.backward()?;
        opt.step(net);
        net.zero_grad();

        loss_sum += loss * y.len() as f64;
        samples += y.len();
        progress.update(y.len(), loss);
    }
    Ok(loss_sum / samples as f64)
}

/// The mean cross-entropy and the accuracy (in `[0, 1]`) of `net` on `data`, in batches of
/// [`EVAL_BATCH_SIZE`]: see [`evaluate_batched`].
pub fn evaluate<N: Network<Elem = f32>>(net: &mut N, data: &Dataset) -> Result<(f64, f64)> {
    evaluate_batched(net, data, EVAL_BATCH_SIZE)
}

/// The mean cross-entropy and the accuracy (in `[0, 1]`) of `net` on `data`, in batches of
/// `batch_size`, in order, without augmentation and without touching gradients.
///
/// The network's output is read as class scores (logits) `[N, classes]`: the prediction is the
/// class of the largest score (the first one on ties, as `torch.argmax`), and the loss is
/// PyTorch's `cross_entropy(output, labels)` averaged over every sample, the same value as the
/// network's own `CrossEntropy` loss with the default mean reduction.
///
/// Errors if `data` is empty, if the output is not `[N, classes]` with at least two classes,
/// or as the network's `forward` does (samples that do not fit its input, a class id out of
/// range for its output).
pub fn evaluate_batched<N: Network<Elem = f32>>(
    net: &mut N,
    data: &Dataset,
    batch_size: usize,
) -> Result<(f64, f64)> {
    if data.is_empty() {
        return Err(Error::Config {
            layer: "evaluate".to_owned(),
            message: "the data set is empty".to_owned(),
        });
    }
    let (mut loss_sum, mut correct) = (0.0, 0);
    let mut loader = data.batches(batch_size);
    while let Some((x, y)) = loader.next_batch() {
        let output = net.forward_dyn(as_input::<N>(x.into_dyn())?)?;
        let scores = class_scores::<N>(output)?;
        let loss = cross_entropy(scores.view(), y, Reduction::Mean, None)
            .map_err(|e| e.in_layer(N::NAME))?;
        loss_sum += f64::from(loss) * y.len() as f64;
        correct += count_correct(scores, y);
    }
    let n = data.len() as f64;
    Ok((loss_sum / n, correct as f64 / n))
}

/// How many rows of `scores` (`[N, classes]`) have their largest score at the class `labels`
/// gives (the first largest on ties; a row holding NaN counts as wrong).
///
/// # Panics
/// If `labels` does not have one entry per row.
pub fn count_correct(scores: ArrayView2<'_, f32>, labels: ArrayView1<'_, usize>) -> usize {
    assert_eq!(scores.nrows(), labels.len(), "one label per row of scores");
    scores
        .outer_iter()
        .zip(labels)
        .filter(|(row, &label)| argmax(row.iter().copied()) == Some(label))
        .count()
}

/// The index of the first largest value, or `None` if there is none or a NaN.
fn argmax(values: impl IntoIterator<Item = f32>) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in values.into_iter().enumerate() {
        if v.is_nan() {
            return None;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// A batch of data-set samples `[B, ...]` viewed in the network's input shape `[B, INPUT...]`.
fn as_input<N: Network>(x: ArrayViewD<'_, f32>) -> Result<ArrayViewD<'_, f32>> {
    let batch = x.shape()[0];
    let per_sample: usize = x.shape()[1..].iter().product();
    let error = || Error::Shape {
        layer: N::NAME.to_owned(),
        what: "data set samples",
        expected: format!(
            "{} values a sample (input {})",
            N::INPUT_SHAPE.iter().product::<usize>(),
            Shape::of(N::INPUT_SHAPE)
        ),
        found: Shape::of(&x.shape()[1..]),
    };
    if per_sample != N::INPUT_SHAPE.iter().product::<usize>() {
        return Err(error());
    }
    if &x.shape()[1..] == N::INPUT_SHAPE {
        return Ok(x);
    }
    // Up to rank 4 an `IxDyn` is stored inline: no allocation per batch.
    let mut dims = IxDyn::zeros(1 + N::INPUT_SHAPE.len());
    dims[0] = batch;
    for (d, &n) in N::INPUT_SHAPE.iter().enumerate() {
        dims[d + 1] = n;
    }
    if !x.is_standard_layout() {
        return Err(Error::Shape {
            layer: N::NAME.to_owned(),
            what: "data set batch (not contiguous)",
            expected: format!(
                "a standard-layout batch of shape {}",
                Shape::of(dims.slice())
            ),
            found: Shape::of(x.shape()),
        });
    }
    Ok(x.into_shape_with_order(dims)
        .expect("a standard-layout array reshapes to any shape of its size"))
}

/// The network's output as class scores `[N, classes]`, or an error naming its shape.
fn class_scores<N: Network>(output: ArrayViewD<'_, f32>) -> Result<ArrayView2<'_, f32>> {
    if output.ndim() != 2 || output.len_of(Axis(1)) < 2 {
        return Err(Error::Config {
            layer: N::NAME.to_owned(),
            message: format!(
                "evaluate needs class scores [N, classes] with at least 2 classes, \
                 but the output is {}",
                Shape::of(output.shape())
            ),
        });
    }
    Ok(output.into_dimensionality::<Ix2>().expect("rank checked"))
}

/// The progress line of a training epoch, on stderr: a bar, batches done, the last batch's
/// loss and the epoch's mean so far, samples per second and the time left, e.g.
///
/// ```text
/// epoch  3/12 [##########----------]  63/125  loss 0.0712 (mean 0.0850)  1910 samples/s  eta 3s
/// ```
///
/// It is drawn only when stderr is a terminal ([`IsTerminal`]), redrawn in place with `\r`
/// (at most 20 times a second, and at the last batch), and erased by
/// [`finish`](Progress::finish) so the line printed next starts clean. When stderr is a file
/// or a pipe it writes nothing. Counting works either way: [`samples`](Progress::samples) and
/// [`mean_loss`](Progress::mean_loss).
#[derive(Debug)]
pub struct Progress {
    label: String,
    total_batches: usize,
    batches: usize,
    samples: usize,
    loss_sum: f64,
    started: Instant,
    drawn_at: Option<Instant>,
    drawn_width: usize,
    visible: bool,
}

/// The least time between two redraws of the progress line.
const REDRAW_EVERY: Duration = Duration::from_millis(50);

impl Progress {
    /// A progress line for `total_batches` batches, labelled `label` (e.g. `"epoch 3/12"`),
    /// visible if stderr is a terminal. The clock starts now.
    pub fn new(label: impl Into<String>, total_batches: usize) -> Self {
        Progress {
            label: label.into(),
            total_batches,
            batches: 0,
            samples: 0,
            loss_sum: 0.0,
            started: Instant::now(),
            drawn_at: None,
            drawn_width: 0,
            visible: std::io::stderr().is_terminal(),
        }
    }

    /// The same progress line, shown or not whatever stderr is.
    pub fn visible(mut self, visible: bool) -> Self {
        self.visible = visible;
        self
    }

    /// Counts a batch of `samples` samples whose loss was `loss`, and redraws the line.
    pub fn update(&mut self, samples: usize, loss: f64) {
        self.batches += 1;
        self.samples += samples;
        self.loss_sum += loss * samples as f64;
        if !self.visible {
            return;
        }
        let now = Instant::now();
        let last = self.batches >= self.total_batches;
        if !last && self.drawn_at.is_some_and(|t| now - t < REDRAW_EVERY) {
            return;
        }
        self.drawn_at = Some(now);
        let line = self.line(loss);
        let pad = self.drawn_width.saturating_sub(line.chars().count());
        self.drawn_width = line.chars().count();
        let mut err = std::io::stderr().lock();
        // A progress line that cannot be written is not worth failing a training run for.
        let _ = write!(err, "\r{line}{:pad$}", "");
        let _ = err.flush();
    }

    /// Erases the line (if it was drawn), leaving the cursor at the start of it.
    pub fn finish(&mut self) {
        if self.visible && self.drawn_width > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:width$}\r", "", width = self.drawn_width);
            let _ = err.flush();
            self.drawn_width = 0;
        }
    }

    /// Samples counted so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Batches counted so far.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Mean loss of the samples counted so far (weighted by batch size), NaN before any.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.samples as f64
    }

    /// The text of the line after a batch whose loss was `loss`.
    pub fn line(&self, loss: f64) -> String {
        const BAR: usize = 20;
        let elapsed = self.started.elapsed().as_secs_f64();
        let done = self.batches.min(self.total_batches);
        let filled = (BAR * done).checked_div(self.total_batches).unwrap_or(BAR);
        let rate = self.samples as f64 / elapsed.max(1e-9);
        let eta = if done > 0 {
            elapsed * (self.total_batches - done) as f64 / done as f64
        } else {
            0.0
        };
        let width = self.total_batches.to_string().len();
        format!(
            "{} [{}{}] {:>width$}/{}  loss {:.4} (mean {:.4})  {:.0} samples/s  eta {:.0}s",
            self.label,
            "#".repeat(filled),
            "-".repeat(BAR - filled),
            self.batches,
            self.total_batches,
            loss,
            self.mean_loss(),
            rate,
            eta,
        )
    }
}
