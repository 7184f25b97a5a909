//! The IDX file format, as MNIST, Fashion-MNIST and their relatives publish it.
//!
//! An IDX file is a big-endian header followed by the items, row-major:
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | magic number `0x0000TTDD`: type code `TT` (`0x08` = unsigned byte), `DD` dims |
//! | 4..4+4·DD | each dim as a big-endian `u32` (the item count first) |
//! | then | the items, one byte each for type `0x08` |
//!
//! Images are `0x00000803` (`[count, rows, cols]`), labels `0x00000801` (`[count]`). Files may be
//! gzip-compressed, as they are published; compression is recognised by the gzip magic bytes
//! (`1f 8b`), not by the file name, so `train-images-idx3-ubyte` holding gzip data reads too.
//!
//! Every failure is an [`Error`] naming the file: [`Error::Io`] when it cannot be read (missing,
//! unreadable), [`Error::Data`] when its content is not what it claims (bad magic number,
//! truncated, trailing bytes, corrupt gzip stream).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Magic number of an IDX file of unsigned-byte images `[count, rows, cols]`.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels `[count]`.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The images of an IDX image file, as stored: `count` images of `rows x cols` bytes, image after
/// image, each row-major (`pixels[(i * rows + r) * cols + c]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// The bytes of image `i` (`rows * cols` of them, row-major). Panics if `i >= count`.
    pub fn image(&self, i: usize) -> &[u8] {
        let len = self.rows * self.cols;
        &self.pixels[i * len..(i + 1) * len]
    }
}

/// Reads an IDX image file (`0x00000803`, plain or gzip).
pub fn read_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let (dims, pixels) = read_u8_tensor(path, IMAGES_MAGIC)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX label file (`0x00000801`, plain or gzip): one byte per item.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let (_, labels) = read_u8_tensor(path.as_ref(), LABELS_MAGIC)?;
    Ok(labels)
}

/// An [`Error::Data`] about `path`.
pub(crate) fn data_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Data {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// What a magic number means, for error messages.
fn describe(magic: u32) -> Option<&'static str> {
    match magic {
        IMAGES_MAGIC => Some("IDX images: unsigned bytes, 3 dims"),
        LABELS_MAGIC => Some("IDX labels: unsigned bytes, 1 dim"),
        _ => None,
    }
}

/// Reads the whole file, decompressed if it is gzip. The flag says whether it was.
fn read_bytes(path: &Path) -> Result<(Vec<u8>, bool)> {
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok((raw, false));
    }
    // The gzip trailer holds the uncompressed size mod 2^32: a capacity hint, capped so that a
    // corrupt trailer cannot ask for an absurd allocation.
    let hint = raw
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize)
        .unwrap_or(0)
        .min(1 << 28);
    let mut out = Vec::with_capacity(hint);
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| data_error(path, format!("corrupt or truncated gzip stream ({e})")))?;
    Ok((out, true))
}

/// Reads an unsigned-byte IDX tensor whose magic number must be `magic` (which fixes the number
/// of dims); returns the dims and the items.
fn read_u8_tensor(path: &Path, magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    let (bytes, gzipped) = read_bytes(path)?;
    let content = if gzipped {
        " (after gzip decompression)"
    } else {
        ""
    };
    let ndims = (magic & 0xff) as usize;
    let kind = describe(magic).unwrap_or("IDX");

    if bytes.len() < 4 {
        return Err(data_error(
            path,
            format!(
                "truncated: expected at least 4 bytes (the magic number), found {}{content}",
                bytes.len()
            ),
        ));
    }
    let found = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if found != magic {
        let hint = match describe(found) {
            Some(what) => format!("; this is a file of {what}"),
            None => String::new(),
        };
        return Err(data_error(
            path,
            format!("bad magic number 0x{found:08x}, expected 0x{magic:08x} ({kind}){hint}"),
        ));
    }

    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(data_error(
            path,
            format!(
                "truncated: expected a {header}-byte header, found {} bytes{content}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let shape = dims
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" x ");
    let items = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| data_error(path, format!("header declares {shape} items: too large")))?;
    let expected = header + items;
    if bytes.len() < expected {
        return Err(data_error(
            path,
            format!(
                "truncated: the header declares {shape} bytes of data, so {expected} bytes were \
                 expected, found {}{content}",
                bytes.len()
            ),
        ));
    }
    if bytes.len() > expected {
        let extra = bytes.len() - expected;
        let plural = if extra == 1 { "" } else { "s" };
        return Err(data_error(
            path,
            format!(
                "{extra} trailing byte{plural} after the {shape} items the header declares: \
                 expected {expected} bytes, found {}{content}",
                bytes.len()
            ),
        ));
    }
    let mut data = bytes;
    data.drain(..header);
    Ok((dims, data))
}
