//! What the examples share: command-line options, and pictures of a training run (loss and
//! accuracy curves, convolution filters) as PNG files.
#![allow(dead_code)] // each example uses its own part of this module

pub mod plot;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use tapeless::ndarray::ArrayView4;
use tapeless::train::EpochRecord;

use plot::{Canvas, Chart, Corner, Series, BLACK, BLUE, GREY, ORANGE};

/// The repository's root, where `data/` and `target/` are.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs an example's `run` and prints its error, if any, as a message rather than a `Debug`
/// dump: `fn main() -> ExitCode { common::main(run) }`.
pub fn main(run: fn() -> Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Creates the folder `path` goes in, if it is missing.
pub fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// `path` relative to the current directory when it is below it (for shorter messages).
pub fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Command-line options in the forms `--name VALUE`, `--name=VALUE` and `--flag`, read with
/// nothing but `std::env::args`. A wrong option prints the usage and exits with status 2.
pub struct Args {
    usage: &'static str,
    args: std::vec::IntoIter<String>,
    pending: Option<String>,
}

impl Args {
    /// The program's arguments; `usage` is printed for `--help` and on errors.
    pub fn new(usage: &'static str) -> Self {
        Args {
            usage,
            args: std::env::args().skip(1).collect::<Vec<_>>().into_iter(),
            pending: None,
        }
    }

    /// The next option's name (e.g. `"--epochs"`), or `None` at the end. `-h`/`--help`
    /// prints the usage and exits.
    pub fn next_option(&mut self) -> Option<String> {
        let arg = self.args.next()?;
        if arg == "-h" || arg == "--help" {
            println!("{}", self.usage);
            std::process::exit(0);
        }
        match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                self.pending = Some(value.to_owned());
                Some(name.to_owned())
            }
            _ => Some(arg),
        }
    }

    /// The value of option `name`, parsed.
    pub fn value<T: FromStr>(&mut self, name: &str) -> T
    where
        T::Err: std::fmt::Display,
    {
        let Some(text) = self.pending.take().or_else(|| self.args.next()) else {
            self.fail(&format!("{name} needs a value"));
        };
        text.parse()
            .unwrap_or_else(|e| self.fail(&format!("{name} {text}: {e}")))
    }

    /// Reports an unknown option or a bad value, then exits.
    pub fn fail(&self, message: &str) -> ! {
        eprintln!("error: {message}\n\n{}", self.usage);
        std::process::exit(2);
    }
}

/// Where an example writes a file next to its checkpoint: `out` with its extension replaced by
/// `{suffix}` (e.g. `target/mnist_cnn.safetensors` -> `target/mnist_cnn_curves.png`).
pub fn beside(out: &Path, suffix: &str) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!("{stem}{suffix}"))
}

/// Writes the loss and accuracy curves of a training run as a PNG: two charts side by side,
/// train and test in each, under a heading.
pub fn save_curves(path: &Path, heading: &str, history: &[EpochRecord]) -> std::io::Result<()> {
    let (width, height) = (1200, 520);
    let mut canvas = Canvas::new(width, height);
    canvas.text_centred(width as i64 / 2, 14, heading, 2, BLACK);
    let epochs = |f: &dyn Fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|r| f(r).map(|v| (r.epoch as f64, v)))
            .collect()
    };
    let loss = Chart {
        title: "Loss (cross-entropy)".into(),
        x_label: "epoch".into(),
        y_label: "loss".into(),
        series: vec![
            Series::curve(
                "train (while training)",
                BLUE,
                epochs(&|r| Some(r.train_loss)),
            ),
            Series::curve("test", ORANGE, epochs(&|r| Some(r.test_loss))),
        ],
        legend: Corner::TopRight,
        y_range: None,
        integer_x: true,
    };
    let accuracy = Chart {
        title: "Accuracy (%)".into(),
        x_label: "epoch".into(),
        y_label: "accuracy (%)".into(),
        series: vec![
            Series::curve(
                "train",
                BLUE,
                epochs(&|r| r.train_accuracy.map(|a| 100.0 * a)),
            ),
            Series::curve("test", ORANGE, epochs(&|r| Some(100.0 * r.test_accuracy))),
        ],
        legend: Corner::BottomRight,
        y_range: None,
        integer_x: true,
    };
    let half = width as i64 / 2;
    loss.draw(&mut canvas, 0, 40, half, height as i64 - 40);
    accuracy.draw(&mut canvas, half, 40, half, height as i64 - 40);
    canvas.save_png(path)
}

/// Writes convolution filters `[out, in, kh, kw]` (input channel 0) as a grid of enlarged
/// pixels, coloured blue (negative) - white (zero) - red (positive), each filter scaled by its
/// own largest magnitude, with its index and a colour key.
pub fn save_filters(
    path: &Path,
    heading: &str,
    weight: ArrayView4<'_, f32>,
) -> std::io::Result<()> {
    let (out, _, kh, kw) = weight.dim();
    let columns = (out as f64).sqrt().ceil() as usize;
    let rows = out.div_ceil(columns);
    let px = (72 / kh.max(kw)).max(6) as i64; // screen pixels per filter pixel
    let (fw, fh) = (px * kw as i64, px * kh as i64);
    let (pad, label_h, top) = (24i64, 22i64, 56i64);
    let grid_w = columns as i64 * (fw + pad) + pad;
    let width = grid_w.max(plot::text_width(heading, 2) + 40);
    let height = top + rows as i64 * (fh + label_h + pad) + 96;
    let mut canvas = Canvas::new(width as usize, height as usize);
    canvas.text_centred(width / 2, 16, heading, 2, BLACK);
    let x0 = (width - grid_w) / 2 + pad;
    for f in 0..out {
        let (r, c) = ((f / columns) as i64, (f % columns) as i64);
        let (x, y) = (x0 + c * (fw + pad), top + r * (fh + label_h + pad));
        let filter = weight.slice(tapeless::ndarray::s![f, 0, .., ..]);
        let scale = filter.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        for ((i, j), &v) in filter.indexed_iter() {
            let color = plot::diverging(f64::from(v / scale));
            canvas.fill_rect(x + j as i64 * px, y + i as i64 * px, px, px, color);
        }
        canvas.stroke_rect(x - 1, y - 1, fw + 2, fh + 2, GREY);
        canvas.text_centred(x + fw / 2, y + fh + 6, &f.to_string(), 2, BLACK);
    }
    // Colour key.
    let key_y = height - 76;
    let key_w = 240i64;
    let key_x = (width - key_w) / 2;
    for i in 0..key_w {
        let v = 2.0 * i as f64 / (key_w - 1) as f64 - 1.0;
        canvas.fill_rect(key_x + i, key_y, 1, 14, plot::diverging(v));
    }
    canvas.stroke_rect(key_x - 1, key_y - 1, key_w + 2, 16, GREY);
    canvas.text(
        key_x - plot::text_width("-max", 2) - 8,
        key_y,
        "-max",
        2,
        BLACK,
    );
    canvas.text(key_x + key_w + 8, key_y, "+max", 2, BLACK);
    canvas.text_centred(width / 2, key_y + 22, "0", 2, BLACK);
    canvas.text_centred(width / 2, key_y + 48, "(max: per filter)", 2, GREY);
    canvas.save_png(path)
}
