//! Just enough plotting for the examples, with no plotting library: an RGB canvas, anti-aliased
//! lines and dots, a built-in 5x7 bitmap font, line charts with ticks, grid and legend, and PNG
//! output through the `png` crate.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [110, 110, 110];
pub const GRID: Rgb = [225, 225, 225];
/// Two colours that stay distinct for colour-blind readers (Okabe–Ito blue and orange).
pub const BLUE: Rgb = [0, 114, 178];
pub const ORANGE: Rgb = [230, 159, 0];
pub const VERMILLION: Rgb = [213, 94, 0];
pub const GREEN: Rgb = [0, 158, 115];

/// An RGB image, row-major, 3 bytes a pixel.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    /// Mixes `color` into pixel (x, y) with weight `alpha` in [0, 1]; outside is ignored.
    pub fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f64) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 || alpha <= 0.0 {
            return;
        }
        let a = alpha.min(1.0);
        let i = (y as usize * self.width + x as usize) * 3;
        for (p, &c) in self.pixels[i..i + 3].iter_mut().zip(&color) {
            *p = (f64::from(*p) * (1.0 - a) + f64::from(c) * a).round() as u8;
        }
    }

    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.blend(xx, yy, color, 1.0);
            }
        }
    }

    /// A one-pixel rectangle outline.
    pub fn stroke_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        self.fill_rect(x, y, w, 1, color);
        self.fill_rect(x, y + h - 1, w, 1, color);
        self.fill_rect(x, y, 1, h, color);
        self.fill_rect(x + w - 1, y, 1, h, color);
    }

    /// An anti-aliased segment of the given width, with round ends.
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: f64, color: Rgb) {
        let r = width / 2.0;
        let (lo_x, hi_x) = (x0.min(x1) - r - 1.0, x0.max(x1) + r + 1.0);
        let (lo_y, hi_y) = (y0.min(y1) - r - 1.0, y0.max(y1) + r + 1.0);
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = dx * dx + dy * dy;
        for y in lo_y.floor() as i64..=hi_y.ceil() as i64 {
            for x in lo_x.floor() as i64..=hi_x.ceil() as i64 {
                // Distance from the pixel centre to the segment.
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let t = if len2 > 0.0 {
                    (((px - x0) * dx + (py - y0) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let d = ((px - x0 - t * dx).powi(2) + (py - y0 - t * dy).powi(2)).sqrt();
                self.blend(x, y, color, r + 0.5 - d);
            }
        }
    }

    /// A filled anti-aliased disc.
    pub fn dot(&mut self, centre: (f64, f64), radius: f64, color: Rgb) {
        self.line(centre, centre, 2.0 * radius, color);
    }

    /// Text in the built-in 5x7 font, each font pixel drawn as `scale` x `scale`, with its top
    /// left corner at (x, y).
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Rgb) {
        for (i, ch) in text.chars().enumerate() {
            let glyph = glyph(ch);
            let gx = x + i as i64 * ADVANCE * scale;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) != 0 {
                        let py = y + (row as i64 + drop_rows(ch)) * scale;
                        let px = gx + col * scale;
                        self.fill_rect(px, py, scale, scale, color);
                    }
                }
            }
        }
    }

    /// Text rotated a quarter turn anticlockwise (read bottom to top), starting at the bottom
    /// left corner (x, y).
    pub fn text_up(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Rgb) {
        for (i, ch) in text.chars().enumerate() {
            let glyph = glyph(ch);
            let gy = y - i as i64 * ADVANCE * scale;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) != 0 {
                        let px = x + (row as i64 + drop_rows(ch)) * scale;
                        let py = gy - (col + 1) * scale;
                        self.fill_rect(px, py, scale, scale, color);
                    }
                }
            }
        }
    }

    /// Text centred horizontally on `cx`.
    pub fn text_centred(&mut self, cx: i64, y: i64, text: &str, scale: i64, color: Rgb) {
        self.text(cx - text_width(text, scale) / 2, y, text, scale, color);
    }

    /// Writes the canvas as an 8-bit RGB PNG.
    pub fn save_png(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = BufWriter::new(File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&self.pixels)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    }
}

/// Horizontal distance from one glyph to the next, in font pixels (5 wide + 1 space).
const ADVANCE: i64 = 6;
/// Glyph height in font pixels.
pub const GLYPH_HEIGHT: i64 = 7;

/// The width of `text` in pixels at `scale`.
pub fn text_width(text: &str, scale: i64) -> i64 {
    let n = text.chars().count() as i64;
    (n * ADVANCE - 1).max(0) * scale
}

/// Where a chart puts its legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    TopRight,
    BottomRight,
}

/// One series of a chart: its name in the legend, its colour, its (x, y) points, and how they
/// are drawn: joined by a line or not, with dots of a radius (0: none).
pub struct Series {
    pub name: String,
    pub color: Rgb,
    pub points: Vec<(f64, f64)>,
    pub line: bool,
    pub dot: f64,
}

impl Series {
    /// Points joined by a line, each marked by a dot (a curve over epochs).
    pub fn curve(name: &str, color: Rgb, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.to_owned(),
            color,
            points,
            line: true,
            dot: 3.5,
        }
    }
}

/// A line chart: title, axis labels, series, legend corner, and the y range (else the data's,
/// padded).
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub legend: Corner,
    pub y_range: Option<(f64, f64)>,
    /// Whether x values are integers (epochs): ticks then fall on integers only.
    pub integer_x: bool,
}

/// Text scale of chart labels: 10x14-pixel glyphs.
const SCALE: i64 = 2;

impl Chart {
    /// Draws the chart into the rectangle (x, y, w, h) of `canvas`.
    pub fn draw(&self, canvas: &mut Canvas, x: i64, y: i64, w: i64, h: i64) {
        let points = || self.series.iter().flat_map(|s| s.points.iter().copied());
        let (mut x_lo, mut x_hi) = min_max(points().map(|p| p.0)).unwrap_or((0.0, 1.0));
        if x_hi <= x_lo {
            (x_lo, x_hi) = (x_lo - 0.5, x_hi + 0.5);
        }
        let (y_lo, y_hi) = self.y_range.unwrap_or_else(|| {
            let (lo, hi) = min_max(points().map(|p| p.1)).unwrap_or((0.0, 1.0));
            let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-3).max(1e-9);
            (lo - pad, hi + pad)
        });
        let x_ticks = ticks(x_lo, x_hi, 6, self.integer_x);
        let y_ticks = ticks(y_lo, y_hi, 6, false);
        let y_decimals = decimals(&y_ticks);
        let y_labels: Vec<String> = y_ticks
            .iter()
            .map(|v| format!("{v:.y_decimals$}"))
            .collect();
        let label_w = y_labels
            .iter()
            .map(|l| text_width(l, SCALE))
            .max()
            .unwrap_or(0);

        // The plot area, inside margins for the title, the tick labels and the axis labels.
        let char_h = GLYPH_HEIGHT * SCALE;
        let left = x + char_h + 16 + label_w + 10;
        let top = y + char_h + 20;
        let right = x + w - 20;
        let bottom = y + h - (2 * char_h + 30);
        let (pw, ph) = ((right - left) as f64, (bottom - top) as f64);
        let to_px = |(vx, vy): (f64, f64)| {
            (
                left as f64 + (vx - x_lo) / (x_hi - x_lo) * pw,
                bottom as f64 - (vy - y_lo) / (y_hi - y_lo) * ph,
            )
        };

        canvas.text_centred((left + right) / 2, y + 6, &self.title, SCALE, BLACK);
        for (v, label) in y_ticks.iter().zip(&y_labels) {
            let py = to_px((x_lo, *v)).1.round() as i64;
            canvas.fill_rect(left, py, right - left, 1, GRID);
            canvas.fill_rect(left - 5, py, 5, 1, BLACK);
            let lw = text_width(label, SCALE);
            canvas.text(left - 9 - lw, py - char_h / 2, label, SCALE, BLACK);
        }
        let x_decimals = decimals(&x_ticks);
        for v in &x_ticks {
            let px = to_px((*v, y_lo)).0.round() as i64;
            canvas.fill_rect(px, top, 1, bottom - top, GRID);
            canvas.fill_rect(px, bottom, 1, 5, BLACK);
            let label = format!("{v:.x_decimals$}");
            canvas.text_centred(px, bottom + 9, &label, SCALE, BLACK);
        }
        canvas.stroke_rect(left, top, right - left + 1, bottom - top + 1, BLACK);
        canvas.text_centred(
            (left + right) / 2,
            bottom + 9 + char_h + 8,
            &self.x_label,
            SCALE,
            BLACK,
        );
        let y_label_w = text_width(&self.y_label, SCALE);
        canvas.text_up(
            x + 6,
            (top + bottom) / 2 + y_label_w / 2,
            &self.y_label,
            SCALE,
            BLACK,
        );

        for s in &self.series {
            let px: Vec<(f64, f64)> = s.points.iter().map(|&p| to_px(p)).collect();
            if s.line {
                for pair in px.windows(2) {
                    canvas.line(pair[0], pair[1], 2.5, s.color);
                }
            }
            if s.dot > 0.0 {
                for &p in &px {
                    canvas.dot(p, s.dot, s.color);
                }
            }
        }
        self.draw_legend(canvas, (left, top, right, bottom));
    }

    fn draw_legend(&self, canvas: &mut Canvas, (left, top, right, bottom): (i64, i64, i64, i64)) {
        let char_h = GLYPH_HEIGHT * SCALE;
        let line_h = char_h + 10;
        let text_w = self
            .series
            .iter()
            .map(|s| text_width(&s.name, SCALE))
            .max()
            .unwrap_or(0);
        let (box_w, box_h) = (text_w + 60, self.series.len() as i64 * line_h + 10);
        let bx = right - box_w - 12;
        let by = match self.legend {
            Corner::TopRight => top + 12,
            Corner::BottomRight => bottom - box_h - 12,
        };
        let _ = left;
        canvas.fill_rect(bx, by, box_w, box_h, WHITE);
        canvas.stroke_rect(bx, by, box_w, box_h, GREY);
        for (i, s) in self.series.iter().enumerate() {
            let ly = by + 5 + i as i64 * line_h + line_h / 2;
            let (x0, x1) = (bx as f64 + 10.0, bx as f64 + 40.0);
            if s.line {
                canvas.line((x0, ly as f64), (x1, ly as f64), 2.5, s.color);
            }
            if s.dot > 0.0 {
                canvas.dot(((x0 + x1) / 2.0, ly as f64), s.dot.max(3.0), s.color);
            }
            canvas.text(bx + 50, ly - char_h / 2, &s.name, SCALE, BLACK);
        }
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) inside [lo, hi], about
/// `target` of them.
fn ticks(lo: f64, hi: f64, target: usize, integer: bool) -> Vec<f64> {
    let raw = (hi - lo) / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Decimals needed to print every tick exactly (at most 4).
fn decimals(ticks: &[f64]) -> usize {
    (0..=4)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            ticks
                .iter()
                .all(|t| ((t * scale).round() - t * scale).abs() < 1e-6)
        })
        .unwrap_or(4)
}

/// Letters drawn two rows lower, below the baseline (their glyph starts at the x-height).
const DESCENDERS: &str = "gpqy";

/// How many font rows `ch` is drawn below the top of the line: 2 for descenders, else 0.
fn drop_rows(ch: char) -> i64 {
    if DESCENDERS.contains(ch) {
        2
    } else {
        0
    }
}

/// The 5x7 glyph of `ch`: seven rows, top first, bit 4 the leftmost pixel (descenders start at
/// the x-height and are drawn lower, see [`DESCENDERS`]). Characters outside the table are
/// drawn as a hollow box.
pub fn glyph(ch: char) -> [u8; 7] {
    let found = FONT.iter().find(|(c, _)| *c == ch);
    found.map_or(
        [
            0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111,
        ],
        |(_, g)| *g,
    )
}

#[rustfmt::skip]
const FONT: &[(char, [u8; 7])] = &[
    (' ', [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000]),
    ('0', [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110]),
    ('1', [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('2', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111]),
    ('3', [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110]),
    ('4', [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010]),
    ('5', [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110]),
    ('6', [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110]),
    ('7', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000]),
    ('8', [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110]),
    ('9', [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100]),
    ('A', [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]),
    ('B', [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110]),
    ('C', [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110]),
    ('D', [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100]),
    ('E', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111]),
    ('F', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000]),
    ('G', [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111]),
    ('H', [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]),
    ('I', [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('J', [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100]),
    ('K', [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001]),
    ('L', [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111]),
    ('M', [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001]),
    ('N', [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001]),
    ('O', [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110]),
    ('P', [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000]),
    ('Q', [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101]),
    ('R', [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001]),
    ('S', [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110]),
    ('T', [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100]),
    ('U', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110]),
    ('V', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100]),
    ('W', [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010]),
    ('X', [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001]),
    ('Y', [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100]),
    ('Z', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111]),
    ('a', [0b00000, 0b00000, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111]),
    ('b', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110]),
    ('c', [0b00000, 0b00000, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110]),
    ('d', [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111]),
    ('e', [0b00000, 0b00000, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110]),
    ('f', [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000]),
    ('g', [0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('h', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001]),
    ('i', [0b00100, 0b00000, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('j', [0b00010, 0b00000, 0b00110, 0b00010, 0b00010, 0b10010, 0b01100]),
    ('k', [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010]),
    ('l', [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('m', [0b00000, 0b00000, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001]),
    ('n', [0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001]),
    ('o', [0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110]),
    ('p', [0b11110, 0b10001, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000]),
    ('q', [0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001]),
    ('r', [0b00000, 0b00000, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000]),
    ('s', [0b00000, 0b00000, 0b01110, 0b10000, 0b01110, 0b00001, 0b11110]),
    ('t', [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110]),
    ('u', [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101]),
    ('v', [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100]),
    ('w', [0b00000, 0b00000, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010]),
    ('x', [0b00000, 0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001]),
    ('y', [0b10001, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('z', [0b00000, 0b00000, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111]),
    ('.', [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100]),
    (',', [0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00100, 0b01000]),
    (':', [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000]),
    (';', [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b00100, 0b01000]),
    ('-', [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000]),
    ('+', [0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000]),
    ('=', [0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000]),
    ('%', [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011]),
    ('(', [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010]),
    (')', [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000]),
    ('[', [0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110]),
    (']', [0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110]),
    ('/', [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000]),
    ('_', [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111]),
    ('*', [0b00000, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0b00000]),
    ('#', [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010]),
    ('!', [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00100]),
    ('?', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100]),
    ('<', [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010]),
    ('>', [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000]),
    ('|', [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100]),
    ('\'', [0b01100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000]),
    ('"', [0b01010, 0b01010, 0b01010, 0b00000, 0b00000, 0b00000, 0b00000]),
    ('^', [0b00100, 0b01010, 0b10001, 0b00000, 0b00000, 0b00000, 0b00000]),
    ('~', [0b00000, 0b00000, 0b01000, 0b10101, 0b00010, 0b00000, 0b00000]),
    ('·', [0b00000, 0b00000, 0b00000, 0b01100, 0b01100, 0b00000, 0b00000]),
    ('×', [0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b00000]),
];

/// A red-white-blue colour for `v` in [-1, 1]: blue for negative, white for zero, red for
/// positive (a diverging map, so the sign of a weight reads at a glance).
pub fn diverging(v: f64) -> Rgb {
    let v = v.clamp(-1.0, 1.0);
    let (end, t) = if v < 0.0 {
        ([33.0, 102.0, 172.0], -v)
    } else {
        ([178.0, 24.0, 43.0], v)
    };
    let mix = |i: usize| (255.0 + (end[i] - 255.0) * t).round() as u8;
    [mix(0), mix(1), mix(2)]
}
