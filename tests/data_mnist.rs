//! The data module on the shipped `data/mnist-10k` files and on small files written here: the IDX
//! reader (gzip and plain, and each malformed case), `Mnist::load`, normalisation, batching,
//! shuffling per epoch, augmentation, subsets, and the allocation-free lending loader.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tapeless::data::idx::{self, IdxImages};
use tapeless::data::{Batches, Flat, Images};
use tapeless::ndarray::{s, Array1, Array4, ArrayView1};
use tapeless::prelude::*;

// --- allocation counting, per thread (tests run in parallel threads) -------------------------

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_allocation() {
    // `try_with`: the counter may be gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// --- helpers ---------------------------------------------------------------------------------

fn mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k")
}

fn shipped(name: &str) -> PathBuf {
    mnist_dir().join(name)
}

/// A fresh, empty directory for one test's files, under `target/tmp`.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("data_mnist")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The bytes of a plain IDX file: magic, dims, items.
fn idx_bytes(magic: u32, dims: &[u32], items: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(items);
    out
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// The `Error::Data` message about `path`, or a panic naming what came instead.
fn data_message(result: Result<impl std::fmt::Debug>, path: &Path) -> String {
    match result {
        Err(Error::Data { path: p, message }) => {
            assert_eq!(p, path.display().to_string(), "the error names the file");
            message
        }
        other => panic!(
            "expected Error::Data about {}, got {other:?}",
            path.display()
        ),
    }
}

/// A synthetic data set whose sample `i` has every pixel equal to `i` and label `i`, so a batch
/// says exactly which samples it holds.
fn numbered(n: usize, shape: [usize; 3]) -> Dataset {
    let [c, h, w] = shape;
    let images = Array4::from_shape_fn((n, c, h, w), |(i, _, _, _)| i as f32);
    Dataset::new(images, Array1::from_iter(0..n)).unwrap()
}

/// Every batch of one epoch of a lending loader: (x values, y values, batch size).
fn epoch_of<L: tapeless::data::Layout>(loader: &mut Batches<'_, L>) -> Vec<(Vec<f32>, Vec<usize>)> {
    let mut out = Vec::new();
    while let Some((x, y)) = loader.next_batch() {
        assert_eq!(x.shape()[0], y.len());
        out.push((x.iter().copied().collect(), y.to_vec()));
    }
    out
}

fn ids(epoch: &[(Vec<f32>, Vec<usize>)]) -> Vec<usize> {
    epoch.iter().flat_map(|(_, y)| y.iter().copied()).collect()
}

// --- the IDX reader on the shipped files -------------------------------------------------------

// Known values, obtained independently with Python's standard library:
//   b = gzip.open('data/mnist-10k/train-images-idx3-ubyte.gz').read()[16:]
//   list(b[14*28:15*28])             # image 0, row 14
//   b[1234*784 + 14*28 + 14], sum(b[1234*784:1235*784]), sum(b)
//   l = gzip.open('data/mnist-10k/train-labels-idx1-ubyte.gz').read()[8:]
//   list(l[:10]), l[1234], l[-1]
// and the same for the test files.
const TRAIN_IMAGE0_ROW14: [u8; 28] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 144, 254, 254, 245, 98, 0, 0, 0, 0, 0, 0, 0, 0, 61, 248, 254, 0,
    0,
];
const TRAIN_LABELS_FIRST10: [u8; 10] = [2, 9, 1, 1, 9, 6, 8, 1, 8, 4];
const TEST_LABELS_FIRST10: [u8; 10] = [2, 0, 6, 4, 7, 1, 7, 9, 3, 9];
const TRAIN_PIXEL_SUM: u64 = 210_053_708;
const TEST_PIXEL_SUM: u64 = 52_092_892;
// Class counts, digits 0..9, as in data/mnist-10k/README.md.
const TRAIN_CLASSES: [usize; 10] = [812, 885, 783, 820, 806, 698, 808, 847, 736, 805];
const TEST_CLASSES: [usize; 10] = [189, 242, 208, 212, 174, 165, 206, 223, 208, 173];

fn class_counts(labels: &[u8]) -> Vec<usize> {
    let mut counts = vec![0; 10];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

#[test]
fn idx_reader_reads_the_shipped_files() {
    let train = idx::read_images(shipped("train-images-idx3-ubyte.gz")).unwrap();
    let train_labels = idx::read_labels(shipped("train-labels-idx1-ubyte.gz")).unwrap();
    let test = idx::read_images(shipped("test-images-idx3-ubyte.gz")).unwrap();
    let test_labels = idx::read_labels(shipped("test-labels-idx1-ubyte.gz")).unwrap();

    assert_eq!((train.count, train.rows, train.cols), (8000, 28, 28));
    assert_eq!((test.count, test.rows, test.cols), (2000, 28, 28));
    assert_eq!(train.pixels.len(), 8000 * 784);
    assert_eq!((train_labels.len(), test_labels.len()), (8000, 2000));

    assert_eq!(class_counts(&train_labels), TRAIN_CLASSES);
    assert_eq!(class_counts(&test_labels), TEST_CLASSES);

    assert_eq!(&train.image(0)[14 * 28..15 * 28], &TRAIN_IMAGE0_ROW14);
    assert_eq!(train.image(1234)[14 * 28 + 14], 253);
    assert_eq!(
        train.image(1234).iter().map(|&b| b as u64).sum::<u64>(),
        20913
    );
    assert_eq!(train_labels[1234], 4);
    assert_eq!(train_labels[..10], TRAIN_LABELS_FIRST10);
    assert_eq!(train_labels[7999], 7);
    assert_eq!(test.image(1234)[14 * 28 + 14], 200);
    assert_eq!(test_labels[1234], 8);
    assert_eq!(test_labels[..10], TEST_LABELS_FIRST10);
    assert_eq!(test_labels[1999], 1);

    let sum = |im: &IdxImages| im.pixels.iter().map(|&b| b as u64).sum::<u64>();
    assert_eq!(sum(&train), TRAIN_PIXEL_SUM);
    assert_eq!(sum(&test), TEST_PIXEL_SUM);
}

#[test]
fn plain_files_read_the_same_and_gzip_is_found_by_content() {
    let dir = scratch("plain");
    let images = idx::read_images(shipped("test-images-idx3-ubyte.gz")).unwrap();
    let labels = idx::read_labels(shipped("test-labels-idx1-ubyte.gz")).unwrap();

    // Plain files, written from what was read (= the decompressed bytes).
    let plain_images = dir.join("t10k-images-idx3-ubyte");
    let plain_labels = dir.join("t10k-labels-idx1-ubyte");
    write(
        &plain_images,
        &idx_bytes(0x803, &[2000, 28, 28], &images.pixels),
    );
    write(&plain_labels, &idx_bytes(0x801, &[2000], &labels));
    assert_eq!(idx::read_images(&plain_images).unwrap(), images);
    assert_eq!(idx::read_labels(&plain_labels).unwrap(), labels);

    // Compression is recognised by the gzip magic bytes, not the name: gzip under a plain name,
    // and plain under a `.gz` name, both read.
    let gz_named_plain = dir.join("gzip-without-suffix");
    std::fs::copy(shipped("test-images-idx3-ubyte.gz"), &gz_named_plain).unwrap();
    assert_eq!(idx::read_images(&gz_named_plain).unwrap(), images);
    let plain_named_gz = dir.join("plain.gz");
    std::fs::copy(&plain_labels, &plain_named_gz).unwrap();
    assert_eq!(idx::read_labels(&plain_named_gz).unwrap(), labels);

    // Mnist::load with the published names: plain `t10k-*` beside gzip `train-*`.
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
        std::fs::copy(shipped(name), dir.join(name)).unwrap();
    }
    let published = Mnist::load(&dir).unwrap();
    let shipped = Mnist::load(mnist_dir()).unwrap();
    assert_eq!(published, shipped);
}

// --- malformed files ---------------------------------------------------------------------------

#[test]
fn bad_magic_number_names_found_and_expected() {
    let dir = scratch("bad_magic");
    // A label file where images are expected.
    let labels_as_images = dir.join("train-images-idx3-ubyte");
    write(&labels_as_images, &idx_bytes(0x801, &[3], &[1, 2, 3]));
    let message = data_message(idx::read_images(&labels_as_images), &labels_as_images);
    assert!(message.contains("bad magic number 0x00000801"), "{message}");
    assert!(message.contains("expected 0x00000803"), "{message}");
    assert!(
        message.contains("labels"),
        "says what the file is: {message}"
    );

    // Not IDX at all.
    let text = dir.join("notes.txt");
    write(&text, b"hello, world");
    let message = data_message(idx::read_labels(&text), &text);
    assert!(
        message.contains("bad magic number 0x68656c6c, expected 0x00000801"),
        "{message}"
    );

    // The full message names the file.
    let err = idx::read_images(&labels_as_images).unwrap_err().to_string();
    assert!(
        err.starts_with(&labels_as_images.display().to_string()),
        "{err}"
    );
}

#[test]
fn truncated_files_say_expected_and_found_bytes() {
    let dir = scratch("truncated");

    // The header promises 3 images of 2x2 (12 bytes of data, 28 bytes in all); 5 are there.
    let short = dir.join("short-images");
    write(&short, &idx_bytes(0x803, &[3, 2, 2], &[7; 5]));
    let message = data_message(idx::read_images(&short), &short);
    assert!(message.contains("truncated"), "{message}");
    assert!(
        message.contains("3 x 2 x 2") && message.contains("28 bytes") && message.contains("21"),
        "{message}"
    );

    // Cut inside the header.
    let header = dir.join("short-header");
    write(&header, &idx_bytes(0x803, &[3], &[]));
    let message = data_message(idx::read_images(&header), &header);
    assert!(
        message.contains("16-byte header") && message.contains("found 8"),
        "{message}"
    );

    // Shorter than a magic number.
    let tiny = dir.join("tiny");
    write(&tiny, &[0, 0]);
    let message = data_message(idx::read_labels(&tiny), &tiny);
    assert!(
        message.contains("truncated") && message.contains("found 2"),
        "{message}"
    );

    // A truncated gzip file: its stream ends early.
    let gz = std::fs::read(shipped("test-labels-idx1-ubyte.gz")).unwrap();
    let cut = dir.join("cut-labels.gz");
    write(&cut, &gz[..gz.len() / 2]);
    let message = data_message(idx::read_labels(&cut), &cut);
    assert!(message.contains("gzip"), "{message}");

    // Trailing bytes after the declared items are not silently ignored either.
    let long = dir.join("long-labels");
    write(&long, &idx_bytes(0x801, &[2], &[1, 2, 3]));
    let message = data_message(idx::read_labels(&long), &long);
    assert!(
        message.contains("1 trailing byte after") && message.contains("expected 10"),
        "{message}"
    );
}

#[test]
fn counts_that_differ_between_images_and_labels() {
    let dir = scratch("mismatch");
    let images = dir.join("train-images-idx3-ubyte");
    let labels = dir.join("train-labels-idx1-ubyte");
    write(&images, &idx_bytes(0x803, &[3, 2, 2], &[0; 12]));
    write(&labels, &idx_bytes(0x801, &[2], &[0, 1]));
    let message = data_message(
        Dataset::from_idx_files(&images, &labels, Normalize::MNIST),
        &labels,
    );
    assert!(
        message.contains("2 labels") && message.contains("3 images"),
        "{message}"
    );
    assert!(message.contains(&images.display().to_string()), "{message}");

    // Through Mnist::load as well (its test files are valid, the training pair is not).
    for name in ["test-images-idx3-ubyte.gz", "test-labels-idx1-ubyte.gz"] {
        std::fs::copy(shipped(name), dir.join(name)).unwrap();
    }
    data_message(Mnist::load(&dir), &labels);
}

#[test]
fn labels_outside_0_to_9_are_rejected_by_mnist() {
    let dir = scratch("label_range");
    for name in ["test-images-idx3-ubyte.gz", "test-labels-idx1-ubyte.gz"] {
        std::fs::copy(shipped(name), dir.join(name)).unwrap();
    }
    let labels = dir.join("train-labels-idx1-ubyte");
    write(
        &dir.join("train-images-idx3-ubyte"),
        &idx_bytes(0x803, &[2, 1, 1], &[0, 0]),
    );
    write(&labels, &idx_bytes(0x801, &[2], &[3, 12]));
    let message = data_message(Mnist::load(&dir), &labels);
    assert!(message.contains("label 12 of item 1"), "{message}");
}

#[test]
fn missing_files_are_io_errors_with_the_path() {
    let dir = scratch("missing");
    let missing = dir.join("no-such-file.gz");
    match idx::read_images(&missing) {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, missing.display().to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }

    // A directory without the files: the first candidate name is the path, the others are
    // listed.
    match Mnist::load(&dir) {
        Err(Error::Io { path, source }) => {
            assert_eq!(
                path,
                dir.join("train-images-idx3-ubyte.gz").display().to_string()
            );
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(source.to_string().contains("train-images-idx3-ubyte"));
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }

    // Training files present, test files missing: both test spellings are named.
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
        std::fs::copy(shipped(name), dir.join(name)).unwrap();
    }
    let err = Mnist::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("t10k-images-idx3-ubyte.gz") && err.contains("test-images-idx3-ubyte"),
        "{err}"
    );
}

// --- Mnist::load and normalisation -------------------------------------------------------------

#[test]
fn mnist_load_gives_normalised_nchw_images_and_class_ids() {
    let data = Mnist::load(mnist_dir()).unwrap();
    assert_eq!(data.train.images().shape(), &[8000, 1, 28, 28]);
    assert_eq!(data.test.images().shape(), &[2000, 1, 28, 28]);
    assert_eq!(data.train.images_flat().shape(), &[8000, 784]);
    assert_eq!(data.train.sample_shape(), [1, 28, 28]);
    assert_eq!(data.train.class_counts(), TRAIN_CLASSES);
    assert_eq!(data.test.class_counts(), TEST_CLASSES);
    assert_eq!(data.train.labels()[1234], 4);

    // x = (byte / 255 - 0.1307) / 0.3081: the pixel 144 of image 0, row 14, column 10.
    let expected = (144.0 / 255.0 - 0.1307) / 0.3081;
    let x = data.train.images()[[0, 0, 14, 10]];
    assert!((x as f64 - expected).abs() < 1e-6, "{x} vs {expected}");
    assert_eq!(data.train.images_flat()[[0, 14 * 28 + 10]], x);
    assert_eq!(data.train.get(0).0[[0, 14, 10]], x);
    let black = (0.0 - 0.1307) / 0.3081;
    assert!((data.train.images()[[0, 0, 0, 0]] as f64 - black).abs() < 1e-6);
    assert!((data.train.fill() as f64 - black).abs() < 1e-6);

    // The recipe fits this subset: mean about 0 and std about 1 (Python: 0.0021 and 1.0026).
    let n = data.train.images().len() as f64;
    let mean = data.train.images().iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = data
        .train
        .images()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!((mean - 0.00206).abs() < 1e-3, "mean {mean}");
    assert!((var.sqrt() - 1.00262).abs() < 1e-3, "std {}", var.sqrt());
}

#[test]
fn normalisation_is_configurable_and_matches_torchvision() {
    assert_eq!(
        Normalize::MNIST,
        Normalize {
            mean: 0.1307,
            std: 0.3081
        }
    );
    // torchvision computes ToTensor + Normalize in f32, in this order.
    for b in [0u8, 1, 128, 144, 255] {
        let torch = (b as f32 / 255.0 - 0.1307f32) / 0.3081f32;
        assert_eq!(Normalize::MNIST.apply(b), torch);
    }
    assert_eq!(Normalize::UNIT.apply(255), 1.0);
    assert_eq!(Normalize::UNIT.apply(0), 0.0);

    let unit = Mnist::load_with(mnist_dir(), Normalize::UNIT).unwrap();
    assert_eq!(unit.train.images()[[0, 0, 14, 10]], 144.0 / 255.0);
    assert_eq!(unit.train.fill(), 0.0);
    let custom = Normalize {
        mean: 0.5,
        std: 0.5,
    };
    let half = Mnist::load_with(mnist_dir(), custom).unwrap();
    assert_eq!(half.test.images()[[0, 0, 0, 0]], -1.0);
    assert_eq!(half.test.fill(), -1.0);
}

// --- subsets -----------------------------------------------------------------------------------

#[test]
fn take_and_split_copy_leading_and_trailing_samples() {
    let data = Mnist::load(mnist_dir()).unwrap();
    let small = data.train.take(300);
    assert_eq!(small.len(), 300);
    assert_eq!(
        small.images(),
        data.train.images().slice(s![..300, .., .., ..])
    );
    assert_eq!(small.labels(), data.train.labels().slice(s![..300]));
    assert_eq!(small.fill(), data.train.fill());
    assert_eq!(data.test.take(5000).len(), 2000);

    let (a, b) = data.test.split(1500);
    assert_eq!((a.len(), b.len()), (1500, 500));
    assert_eq!(b.get(0).1, data.test.labels()[1500]);
    assert_eq!(b.images(), data.test.images().slice(s![1500.., .., .., ..]));
    assert_eq!(data.test.split(9999).1.len(), 0);
}

#[test]
fn dataset_new_checks_counts() {
    let images = Array4::<f32>::zeros((3, 1, 2, 2));
    let err = Dataset::new(images, Array1::from(vec![0, 1])).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("[3]"), "{err}");
}

// --- batching ----------------------------------------------------------------------------------

#[test]
fn unshuffled_batches_are_views_in_order_and_keep_the_last_partial_batch() {
    let data = numbered(500, [1, 2, 3]);
    let mut loader = data.batches(64);
    assert_eq!(loader.num_batches(), 8);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    while let Some((x, y)) = loader.next_batch() {
        // A view into the data set's own storage.
        let first = y[0];
        assert_eq!(
            x.as_ptr(),
            data.images().slice(s![first.., .., .., ..]).as_ptr()
        );
        assert_eq!(x.shape()[1..], [1, 2, 3]);
        assert!(x.is_standard_layout());
        for (k, &id) in y.iter().enumerate() {
            assert!(x.slice(s![k, .., .., ..]).iter().all(|&v| v == id as f32));
        }
        sizes.push(y.len());
        seen.extend(y.iter().copied());
    }
    assert_eq!(sizes, [64, 64, 64, 64, 64, 64, 64, 52]);
    assert_eq!(seen, (0..500).collect::<Vec<_>>());
    assert_eq!(loader.current_epoch(), 1);

    // drop_last(true): seven full batches, the 52 left over are not seen.
    let mut loader = data.batches(64).drop_last(true);
    assert_eq!(loader.num_batches(), 7);
    let epoch = epoch_of(&mut loader);
    assert_eq!(epoch.len(), 7);
    assert_eq!(ids(&epoch), (0..448).collect::<Vec<_>>());

    // A batch size that divides N: no partial batch, kept or not.
    assert_eq!(epoch_of(&mut data.batches(50)).len(), 10);
    assert_eq!(epoch_of(&mut data.batches(50).drop_last(true)).len(), 10);
    // A batch larger than the data set.
    assert_eq!(epoch_of(&mut data.batches(1000)).len(), 1);
    assert_eq!(epoch_of(&mut data.batches(1000).drop_last(true)).len(), 0);
}

#[test]
fn shuffled_batches_cover_every_sample_once_per_epoch() {
    let data = numbered(500, [1, 2, 3]);
    let mut loader = data.batches(64).shuffled(7);
    let mut orders = Vec::new();
    for epoch in 0..3 {
        assert_eq!(loader.current_epoch(), epoch);
        let batches = epoch_of(&mut loader);
        assert_eq!(
            batches.iter().map(|(_, y)| y.len()).collect::<Vec<_>>(),
            [64, 64, 64, 64, 64, 64, 64, 52]
        );
        // x and y stay paired: sample `id`'s pixels are all `id`.
        for (x, y) in &batches {
            for (pixels, &id) in x.chunks(6).zip(y) {
                assert!(pixels.iter().all(|&v| v == id as f32));
            }
        }
        let mut order = ids(&batches);
        orders.push(order.clone());
        assert_ne!(order, (0..500).collect::<Vec<_>>(), "shuffled");
        order.sort_unstable();
        assert_eq!(
            order,
            (0..500).collect::<Vec<_>>(),
            "each sample exactly once"
        );
    }
    assert_ne!(orders[0], orders[1], "a new order every epoch");
    assert_ne!(orders[1], orders[2]);

    // drop_last with shuffling: 448 distinct samples, a different 52 left out per epoch.
    let mut loader = data.batches(64).shuffled(7).drop_last(true);
    let first = ids(&epoch_of(&mut loader));
    let second = ids(&epoch_of(&mut loader));
    assert_eq!(first.len(), 448);
    assert_eq!(first.iter().collect::<HashSet<_>>().len(), 448);
    assert_ne!(
        first.iter().collect::<HashSet<_>>(),
        second.iter().collect::<HashSet<_>>()
    );
}

#[test]
fn shuffling_is_reproducible_from_the_seed_and_epoch() {
    let data = numbered(300, [1, 2, 2]);
    let run = |seed| {
        let mut loader = data.batches(32).shuffled(seed);
        (0..3).map(|_| epoch_of(&mut loader)).collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed, same batches");
    assert_ne!(a, run(8), "another seed, other batches");

    // Jumping to an epoch (set_epoch or the builder) gives that epoch of a continuous run.
    let mut loader = data.batches(32).shuffled(7);
    loader.set_epoch(2);
    assert_eq!(epoch_of(&mut loader), a[2]);
    assert_eq!(epoch_of(&mut data.batches(32).shuffled(7).epoch(1)), a[1]);
    // Restarting mid-epoch starts the epoch over.
    let mut loader = data.batches(32).shuffled(7);
    loader.next_batch();
    loader.next_batch();
    loader.set_epoch(0);
    assert_eq!(epoch_of(&mut loader), a[0]);

    // The permutation does not depend on the batch size.
    let by_16 = ids(&epoch_of(&mut data.batches(16).shuffled(7)));
    assert_eq!(by_16, ids(&a[0]));
}

#[test]
fn shuffled_mnist_batches_hold_real_samples() {
    let data = Mnist::load(mnist_dir()).unwrap();
    let train = data.train.take(300);
    let mut loader = train.batches(64).shuffled(3);
    let mut counts = vec![0; 10];
    let mut total = 0.0f64;
    while let Some((x, y)) = loader.next_batch() {
        assert_eq!(x.shape(), &[y.len(), 1, 28, 28]);
        for &l in &y {
            counts[l] += 1;
        }
        total += x.iter().map(|&v| v as f64).sum::<f64>();
    }
    assert_eq!(counts, train.class_counts());
    let expected: f64 = train.images().iter().map(|&v| v as f64).sum();
    assert!((total - expected).abs() < 1e-6 * expected.abs().max(1.0));
}

#[test]
fn flat_batches_are_the_same_values_as_b_784() {
    let data = Mnist::load(mnist_dir()).unwrap();
    let train = data.train.take(200);

    let mut images = train.batches(64).shuffled(5);
    let mut flat: Batches<'_, Flat> = train.batches(64).shuffled(5).flat();
    loop {
        match (images.next_batch(), flat.next_batch()) {
            (Some((x, y)), Some((xf, yf))) => {
                assert_eq!(xf.shape(), &[y.len(), 784]);
                assert_eq!(x.iter().collect::<Vec<_>>(), xf.iter().collect::<Vec<_>>());
                assert_eq!(y, yf);
            }
            (None, None) => break,
            _ => panic!("different numbers of batches"),
        }
    }

    // Unshuffled flat batches are views into the data set too.
    let mut flat = train.batches(64).flat();
    let (x, _) = flat.next_batch().unwrap();
    assert_eq!(x.as_ptr(), train.images_flat().as_ptr());
    assert_eq!(x.shape(), &[64, 784]);
}

#[test]
fn for_loop_form_matches_the_lending_form() {
    let data = numbered(200, [1, 2, 2]);

    // Unshuffled: borrowed views.
    let mut n = 0;
    for (x, y) in data.batches(64) {
        assert!(x.is_view() && y.is_view());
        assert_eq!(x.view().shape()[0], y.len());
        n += y.len();
    }
    assert_eq!(n, 200);

    // Shuffled (DESIGN.md's loop): owned batches, the same as `next_batch` gives.
    let iter = data.batches(64).shuffled(7).epoch(1).into_iter();
    assert_eq!(iter.len(), 4);
    let from_iter: Vec<(Vec<f32>, Vec<usize>)> = iter
        .map(|(x, y)| {
            assert!(x.is_owned());
            (x.iter().copied().collect(), y.to_vec())
        })
        .collect();
    let mut loader = data.batches(64).shuffled(7);
    loader.set_epoch(1);
    assert_eq!(from_iter, epoch_of(&mut loader));

    // drop_last and flat carry over.
    let iter = data.batches(64).drop_last(true).flat().into_iter();
    assert_eq!(iter.len(), 3);
    assert!(iter.map(|(x, _)| x.shape().to_vec()).all(|s| s == [64, 4]));
}

#[test]
fn next_batch_allocates_nothing_after_the_first_batch() {
    let data = Mnist::load(mnist_dir()).unwrap();
    let train = data.train.take(500);
    let mut loader = train.batches(64).shuffled(7).augment(Shift { max: 2 });
    loader.next_batch().unwrap(); // allocates the permutation and the batch buffer
    let before = allocations();
    let mut batches = 0;
    for _epoch in 0..3 {
        while let Some((x, y)) = loader.next_batch() {
            std::hint::black_box((x, y));
            batches += 1;
        }
    }
    assert_eq!(allocations(), before, "no allocation in {batches} batches");
    assert_eq!(batches, 7 + 8 + 8);

    let mut views: Batches<'_, Images> = train.batches(64);
    let before = allocations();
    while views.next_batch().is_some() {}
    assert_eq!(allocations(), before);
}

// --- augmentation ------------------------------------------------------------------------------

/// The pixel mass above the background: the sum of `x - fill`.
fn mass(x: &[f32], fill: f32) -> f64 {
    x.iter().map(|&v| (v - fill) as f64).sum()
}

#[test]
fn shifts_keep_shapes_and_pixel_mass_and_are_reproducible() {
    let data = Mnist::load(mnist_dir()).unwrap();
    let train = data.train.take(500);
    let fill = train.fill();
    let plain = epoch_of(&mut train.batches(64).shuffled(11));
    let shifted = epoch_of(&mut train.batches(64).shuffled(11).augment(Shift { max: 2 }));

    assert_eq!(plain.len(), shifted.len());
    let mut changed = 0;
    for ((x, y), (xs, ys)) in plain.iter().zip(&shifted) {
        assert_eq!(y, ys, "same samples, same order");
        assert_eq!(x.len(), xs.len());
        for (a, b) in x.chunks(784).zip(xs.chunks(784)) {
            changed += usize::from(a != b);
            // Every value is a pixel of the original or the background.
            let mut values: HashSet<u32> = a.iter().map(|v| v.to_bits()).collect();
            values.insert(fill.to_bits());
            assert!(b.iter().all(|v| values.contains(&v.to_bits())));
        }
    }
    // 25 shifts of which one is (0, 0): most samples move.
    assert!(changed > 400, "{changed} of 500 samples moved");
    // Digits sit in the centre of the 28x28 field, so a 2-pixel shift loses little mass.
    let (m0, m1) = (
        plain.iter().map(|(x, _)| mass(x, fill)).sum::<f64>(),
        shifted.iter().map(|(x, _)| mass(x, fill)).sum::<f64>(),
    );
    assert!(m1 <= m0 + 1e-3 * m0 && m1 > 0.99 * m0, "{m1} vs {m0}");

    // Reproducible from the seed, different in another epoch or with another seed.
    let again = epoch_of(&mut train.batches(64).shuffled(11).augment(Shift { max: 2 }));
    assert_eq!(shifted, again);
    let mut loader = train.batches(64).shuffled(11).augment(Shift { max: 2 });
    epoch_of(&mut loader);
    let second = epoch_of(&mut loader);
    assert_ne!(ids(&second), ids(&shifted));
    assert_eq!(
        second,
        epoch_of(
            &mut train
                .batches(64)
                .shuffled(11)
                .augment(Shift { max: 2 })
                .epoch(1)
        )
    );

    // The shift of a sample position does not depend on the batch size.
    let by_10 = epoch_of(&mut train.batches(10).shuffled(11).augment(Shift { max: 2 }));
    let flat =
        |e: &[(Vec<f32>, Vec<usize>)]| e.iter().flat_map(|(x, _)| x.clone()).collect::<Vec<_>>();
    assert_eq!(flat(&by_10), flat(&shifted));

    // Shift { max: 0 } changes nothing.
    let unshifted = epoch_of(&mut train.batches(64).shuffled(11).augment(Shift { max: 0 }));
    assert_eq!(unshifted, plain);
}

#[test]
fn a_shift_moves_the_image_and_fills_with_the_background() {
    // One 5x5 image with a single bright pixel in the centre, background -1, two channels.
    let mut images = Array4::from_elem((1, 2, 5, 5), -1.0f32);
    images[[0, 0, 2, 2]] = 1.0;
    images[[0, 1, 2, 2]] = 2.0;
    let data = Dataset::new(images, Array1::from(vec![0]))
        .unwrap()
        .with_fill(-1.0);
    let mut seen = HashSet::new();
    let mut loader = data.batches(1).augment(Shift { max: 1 });
    for _ in 0..200 {
        let (x, y) = loader.next_batch().unwrap();
        assert_eq!(x.shape(), &[1, 2, 5, 5]);
        assert_eq!(y, ArrayView1::from(&[0usize][..]));
        let bright: Vec<_> = x
            .indexed_iter()
            .filter(|(_, &v)| v > 0.0)
            .map(|((_, c, r, col), &v)| (c, r, col, v))
            .collect();
        // The pixel moved by at most one in each direction, both channels alike.
        assert_eq!(bright.len(), 2, "{bright:?}");
        let (_, r, col, v0) = bright[0];
        assert_eq!((bright[1].1, bright[1].2), (r, col));
        assert_eq!((v0, bright[1].3), (1.0, 2.0));
        assert!((1..=3).contains(&r) && (1..=3).contains(&col));
        assert_eq!(x.iter().filter(|&&v| v == -1.0).count(), 48);
        seen.insert((r, col));
        assert!(loader.next_batch().is_none(), "one batch per epoch");
    }
    assert_eq!(seen.len(), 9, "all nine shifts occur: {seen:?}");

    // Unaugmented, the same loader gives the image back unchanged.
    let mut plain = data.batches(1);
    let (x, _) = plain.next_batch().unwrap();
    assert_eq!(x, data.images());
}

// --- feeding networks --------------------------------------------------------------------------

network! {
    /// A small CNN for DESIGN.md's loop.
    struct TinyCnn {
        input: [1, 28, 28],
        conv: Conv2d<1, 4, 3>(stride = 2),
        relu: ReLU,
        flat: Flatten -> [676],
        fc: Linear<676, 10>,
        loss: CrossEntropy,
    }
}

network! {
    /// An MLP, fed flat batches.
    struct TinyMlp {
        input: [784],
        fc1: Linear<784, 32>,
        relu: ReLU,
        fc2: Linear<32, 10>,
        loss: CrossEntropy,
    }
}

fn sgd<N: tapeless::Network<Elem = f32>>(net: &mut N, lr: f32) {
    net.visit_parameters_mut(&mut |mut p| p.value.scaled_add(-lr, &p.grad));
    net.zero_grad();
}

#[test]
fn batches_feed_networks_as_design_md_shows() {
    let data = Mnist::load(mnist_dir()).unwrap();
    let train = data.train.take(256);

    // DESIGN.md's loop, verbatim but for the subset and the optimizer.
    let mut net = TinyCnn::seeded(42);
    for (x, y) in train.batches(64).shuffled(7) {
        let loss = net.loss(x.view(), y.view()).unwrap();
        assert!(loss.is_finite());
        net.backward().unwrap();
        sgd(&mut net, 0.05);
    }

    // An MLP on flat, shuffled, augmented batches with the lending loader: the loss falls.
    let mut net = TinyMlp::seeded(1);
    let mut loader = train
        .batches(32)
        .shuffled(3)
        .augment(Shift { max: 1 })
        .flat();
    let mut epoch_loss = Vec::new();
    for _epoch in 0..8 {
        let mut total = 0.0;
        while let Some((x, y)) = loader.next_batch() {
            total += net.loss(x, y).unwrap();
            net.backward().unwrap();
            sgd(&mut net, 0.05);
        }
        epoch_loss.push(total / loader.num_batches() as f32);
    }
    assert!(
        epoch_loss[7] < 0.5 * epoch_loss[0],
        "loss per epoch: {epoch_loss:?}"
    );
    // The whole test set in one forward pass, as a flat view.
    let out = net.forward(data.test.images_flat()).unwrap();
    assert_eq!(out.shape(), &[2000, 10]);
}
