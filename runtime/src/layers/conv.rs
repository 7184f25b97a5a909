//! 2-D convolution, PyTorch's `nn.Conv2d` (cross-correlation, NCHW), as im2col + GEMM, with an
//! optional fused activation `f`.
//!
//! Shapes: `x` `[N, CIN, H, W]`, `weight` `[COUT, CIN, KH, KW]`, `bias` `[COUT]`,
//! `y` `[N, COUT, OH, OW]` with `OH`, `OW` from [`Window2d::output_size`]. Per sample `n`:
//!
//! `y[n] = f(W₂ · cols[n] + b)`, where `W₂ = weight` viewed as `[COUT, CIN·KH·KW]` and
//! `cols[n] = im2col(x[n])` is `[CIN·KH·KW, OH·OW]`.
//!
//! Backward, with `g[n] = dL/dy[n] ⊙ f'(y[n])` viewed as `[COUT, OH·OW]`:
//! `dW₂ += Σₙ g[n] cols[n]ᵀ`, `db += Σₙ,ₚ g[n]`, `dx[n] = col2im(W₂ᵀ g[n])`.

use std::ops::Range;

use ndarray::{
    ArrayView1, ArrayView2, ArrayView3, ArrayView4, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3,
    ArrayViewMut4, Ix1, Ix4,
};

use crate::element::Float;
use crate::error::{check_shape, config_error, same_shape, Result};
use crate::init::{pytorch_default, Rng};
use crate::kernels::gemm::gemm_unchecked;
use crate::kernels::im2col::{contiguous, contiguous_mut, Geometry};
use crate::kernels::parallel::{for_each_part, part_range, threads, with_workspace, SharedMut};
use crate::kernels::window::Window2d;
use crate::layers::activation::Activation;
use crate::network::Param;

const LAYER: &str = "Conv2d";

/// The parameters and geometry of a Conv2d layer: `weight` `[COUT, CIN, KH, KW]` and an
/// optional `bias` `[COUT]`, PyTorch's `nn.Conv2d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<T: Float> {
    pub weight: Param<T, Ix4>,
    pub bias: Option<Param<T, Ix1>>,
    pub window: Window2d,
}

impl<T: Float> Conv2d<T> {
    /// A layer initialised as PyTorch does ([`pytorch_default`], `fan_in = CIN·KH·KW`).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        window: Window2d,
        bias: bool,
        rng: &mut Rng,
    ) -> Self {
        let (kh, kw) = window.kernel;
        let (w, b) = pytorch_default(
            (out_channels, in_channels, kh, kw),
            bias.then_some(out_channels),
            in_channels * kh * kw,
            rng,
        );
        Conv2d {
            weight: Param::new(w),
            bias: b.map(Param::new),
            window,
        }
    }

    /// [`conv2d_forward`] with this layer's parameters.
    pub fn forward(
        &self,
        x: ArrayView4<'_, T>,
        activation: Activation,
        cols: ArrayViewMut3<'_, T>,
        y: ArrayViewMut4<'_, T>,
    ) -> Result<()> {
        conv2d_forward(
            x,
            self.weight.value.view(),
            self.bias.as_ref().map(|b| b.value.view()),
            &self.window,
            activation,
            cols,
            y,
        )
    }

    /// [`conv2d_backward_from_input`] into this layer's gradients.
    pub fn backward_from_input(
        &mut self,
        x: ArrayView4<'_, T>,
        activation: Activation,
        y: ArrayView4<'_, T>,
        dy: ArrayViewMut4<'_, T>,
        dx: Option<ArrayViewMut4<'_, T>>,
    ) -> Result<()> {
        conv2d_backward_from_input(
            self.weight.value.view(),
            &self.window,
            x,
            activation,
            y,
            dy,
            self.weight.grad.view_mut(),
            self.bias.as_mut().map(|b| b.grad.view_mut()),
            dx,
        )
    }

    /// [`conv2d_backward`] into this layer's gradients.
    pub fn backward(
        &mut self,
        cols: ArrayView3<'_, T>,
        activation: Activation,
        y: ArrayView4<'_, T>,
        dy: ArrayViewMut4<'_, T>,
        dx: Option<ArrayViewMut4<'_, T>>,
    ) -> Result<()> {
        conv2d_backward(
            self.weight.value.view(),
            &self.window,
            cols,
            activation,
            y,
            dy,
            self.weight.grad.view_mut(),
            self.bias.as_mut().map(|b| b.grad.view_mut()),
            dx,
        )
    }
}

/// Forward: `y <- f(conv2d(x, weight) + bias)`, overwriting `y` and `cols`.
///
/// `cols` is the im2col workspace, `[N, CIN·KH·KW, OH·OW]`: on return it holds every sample's
/// patches, which [`conv2d_backward`] reads. It may be `[1, CIN·KH·KW, OH·OW]`, reused for
/// each sample, for a forward-only pass or before [`conv2d_backward_from_input`] (which is
/// what networks do). `x`, `weight`, `bias`, `cols`
/// and `y` must be in standard layout. `window.kernel` must equal the weight's `(KH, KW)`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward<T: Float>(
    x: ArrayView4<'_, T>,
    weight: ArrayView4<'_, T>,
    bias: Option<ArrayView1<'_, T>>,
    window: &Window2d,
    activation: Activation,
    mut cols: ArrayViewMut3<'_, T>,
    mut y: ArrayViewMut4<'_, T>,
) -> Result<()> {
    let shapes = ConvShapes::new(x.shape(), weight.view(), window)?;
    let ConvShapes { n, cout, k, p, .. } = shapes;
    check_shape(LAYER, "output", y.shape(), &shapes.output())?;
    // One slot a sample keeps the patches for backward; a single slot is reused (inference).
    let slots = if cols.dim().0 == 1 { 1 } else { n };
    check_shape(
        LAYER,
        "im2col workspace",
        cols.shape(),
        &[Some(slots), Some(k), Some(p)],
    )?;
    if let Some(b) = &bias {
        check_shape(LAYER, "bias", b.shape(), &[Some(cout)])?;
    }
    activation.validate()?;
    let x = contiguous(LAYER, "input", x.as_slice())?;
    let w2 = weight_matrix(weight, cout, k)?;
    let cols = contiguous_mut(LAYER, "im2col workspace", cols.as_slice_mut())?;
    let y = contiguous_mut(LAYER, "output", y.as_slice_mut())?;
    let bias = match &bias {
        Some(b) => Some(contiguous(LAYER, "bias", b.as_slice())?),
        None => None,
    };

    let in_sample = x.len() / n.max(1);
    let geometry = shapes.geometry;
    // One sample: patches into `cols_s`, `y_s = f(W₂ cols_s + b)`.
    let sample = |s: usize, cols_s: &mut [T], y_s: &mut [T]| {
        geometry.im2col(&x[s * in_sample..(s + 1) * in_sample], cols_s);
        gemm_unchecked(
            T::one(),
            w2,
            matrix(cols_s, k, p),
            T::zero(),
            &mut matrix_mut(y_s, cout, p),
        );
        activation.bias_forward_rows(y_s, p, bias);
    };
    if slots == n && split_samples(n, cout * k * p) {
        let (cols, y) = (SharedMut::new(cols), SharedMut::new(y));
        for_each_part(|part, parts| {
            for s in part_range(n, part, parts) {
                // SAFETY: each sample's slot and output are touched by one part only.
                let (cols_s, y_s) = unsafe {
                    (
                        cols.slice(s * k * p..(s + 1) * k * p),
                        y.slice(s * cout * p..(s + 1) * cout * p),
                    )
                };
                sample(s, cols_s, y_s);
            }
        });
    } else if slots == 1 && split_samples(n, cout * k * p) {
        // One slot: part 0 uses it, the other parts a slot each from the workspace.
        let extra = threads() - 1;
        with_workspace(extra * k * p, |ws: &mut [T]| {
            let (slot0, ws, y) = (SharedMut::new(cols), SharedMut::new(ws), SharedMut::new(y));
            for_each_part(|part, parts| {
                // SAFETY: part 0 alone uses the caller's slot, part i > 0 alone the i-th
                // workspace slot; each sample's output belongs to one part.
                let cols_s = unsafe {
                    if part == 0 {
                        slot0.slice(0..k * p)
                    } else {
                        ws.slice((part - 1) * k * p..part * k * p)
                    }
                };
                for s in part_range(n, part, parts) {
                    let y_s = unsafe { y.slice(s * cout * p..(s + 1) * cout * p) };
                    sample(s, cols_s, y_s);
                }
            });
        });
    } else {
        for s in 0..n {
            let slot = if slots == 1 { 0 } else { s };
            sample(
                s,
                &mut cols[slot * k * p..(slot + 1) * k * p],
                &mut y[s * cout * p..(s + 1) * cout * p],
            );
        }
    }
    Ok(())
}

/// Whether a convolution over `n` samples of `macs` multiply-adds each is worth splitting by
/// samples over the pool's threads (a split costs a thread wake-up, some microseconds).
fn split_samples(n: usize, macs: usize) -> bool {
    threads() > 1 && n >= 2 && n * macs >= 1 << 22
}

/// Backward of [`conv2d_forward`], from the patches the forward pass saved.
///
/// - `cols` `[N, CIN·KH·KW, OH·OW]`: the workspace as the forward pass left it.
/// - `y`: the forward output (read only when `activation` is not `Identity`).
/// - `dy`: on entry `dL/dy`; on return the gradient before the activation (scratch).
/// - `dweight` `[COUT, CIN, KH, KW]` and `dbias` `[COUT]`: accumulated into.
/// - `dx`: `None` for a network's first layer; otherwise the input gradient `[N, CIN, H, W]`,
///   overwritten. (Scratch for the patches' gradient is the kernel's own, per thread.)
///
/// All arrays must be in standard layout.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward<T: Float>(
    weight: ArrayView4<'_, T>,
    window: &Window2d,
    cols: ArrayView3<'_, T>,
    activation: Activation,
    y: ArrayView4<'_, T>,
    dy: ArrayViewMut4<'_, T>,
    dweight: ArrayViewMut4<'_, T>,
    dbias: Option<ArrayViewMut1<'_, T>>,
    dx: Option<ArrayViewMut4<'_, T>>,
) -> Result<()> {
    let (_, cin, kh, kw) = weight.dim();
    let (n, _, oh, ow) = y.dim();
    let (k, p) = (cin * kh * kw, oh * ow);
    check_shape(
        LAYER,
        "im2col workspace",
        cols.shape(),
        &[Some(n), Some(k), Some(p)],
    )?;
    let cols = contiguous(LAYER, "im2col workspace", cols.as_slice())?;
    backward(
        weight,
        window,
        Patches::Saved(cols),
        activation,
        y,
        dy,
        dweight,
        dbias,
        dx,
    )
}

/// Backward of [`conv2d_forward`] from the layer's input `x` `[N, CIN, H, W]`, whose patches
/// are formed again sample by sample (in a per-thread scratch that stays in cache) instead of
/// being read back from a batch-sized `cols`: so the forward pass may use a one-slot `cols`,
/// and a training step moves far less memory. Otherwise as [`conv2d_backward`]; `dx` is the
/// input gradient alone.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_from_input<T: Float>(
    weight: ArrayView4<'_, T>,
    window: &Window2d,
    x: ArrayView4<'_, T>,
    activation: Activation,
    y: ArrayView4<'_, T>,
    dy: ArrayViewMut4<'_, T>,
    dweight: ArrayViewMut4<'_, T>,
    dbias: Option<ArrayViewMut1<'_, T>>,
    dx: Option<ArrayViewMut4<'_, T>>,
) -> Result<()> {
    let shapes = ConvShapes::new(x.shape(), weight.view(), window)?;
    check_shape(LAYER, "output", y.shape(), &shapes.output())?;
    if let Some(dx) = &dx {
        same_shape(LAYER, "input gradient", dx.shape(), x.shape())?;
    }
    let x = contiguous(LAYER, "input", x.as_slice())?;
    let patches = Patches::Input(x, shapes.geometry);
    backward(
        weight, window, patches, activation, y, dy, dweight, dbias, dx,
    )
}

/// Where the backward pass gets each sample's patches from.
#[derive(Clone, Copy)]
enum Patches<'a, T> {
    /// `[N, K, P]`, saved by the forward pass.
    Saved(&'a [T]),
    /// The layer's input, `[N, CIN, H, W]`, to form them again.
    Input(&'a [T], Geometry),
}

#[allow(clippy::too_many_arguments)]
fn backward<T: Float>(
    weight: ArrayView4<'_, T>,
    window: &Window2d,
    patches: Patches<'_, T>,
    activation: Activation,
    y: ArrayView4<'_, T>,
    mut dy: ArrayViewMut4<'_, T>,
    mut dweight: ArrayViewMut4<'_, T>,
    dbias: Option<ArrayViewMut1<'_, T>>,
    dx: Option<ArrayViewMut4<'_, T>>,
) -> Result<()> {
    let (cout, cin, kh, kw) = weight.dim();
    let (n, _, oh, ow) = y.dim();
    let (k, p) = (cin * kh * kw, oh * ow);
    check_shape(LAYER, "output", y.shape(), &[None, Some(cout), None, None])?;
    same_shape(LAYER, "output gradient", dy.shape(), y.shape())?;
    same_shape(LAYER, "weight gradient", dweight.shape(), weight.shape())?;
    if let Some(db) = &dbias {
        check_shape(LAYER, "bias gradient", db.shape(), &[Some(cout)])?;
    }
    activation.validate()?;
    let input = match &dx {
        Some(dx) => {
            let shapes = ConvShapes::new(dx.shape(), weight.view(), window)?;
            check_shape(LAYER, "output", y.shape(), &shapes.output())?;
            Some(shapes.geometry)
        }
        None => None,
    };
    let w2 = weight_matrix(weight, cout, k)?;
    let y = contiguous(LAYER, "output", y.as_slice())?;
    let dy = contiguous_mut(LAYER, "output gradient", dy.as_slice_mut())?;
    let dw = contiguous_mut(LAYER, "weight gradient", dweight.as_slice_mut())?;
    let dbias = match dbias {
        Some(db) => Some(contiguous_mut(LAYER, "bias gradient", db.into_slice())?),
        None => None,
    };
    let dx = match dx {
        Some(dx) => Some(contiguous_mut(LAYER, "input gradient", dx.into_slice())?),
        None => None,
    };
    let in_sample = dx.as_ref().map_or(0, |dx| dx.len() / n.max(1));
    let has_bias = dbias.is_some();

    // Scratch of one part: the sample's patches (when formed again), the col2im matrix (when
    // there is a dx), and for parts after the first their own weight and bias gradients.
    let cols_len = if matches!(patches, Patches::Input(..)) {
        k * p
    } else {
        0
    };
    let dcols_len = if dx.is_some() { k * p } else { 0 };
    let grads_len = cout * k + cout;
    let per_part = cols_len + dcols_len + grads_len;

    // The samples `range` of one part, accumulating into `dw` (`[COUT, K]`) and `db`. `dy` and
    // `dx` are sliced per sample, which no other part touches.
    let samples = |range: Range<usize>,
                   dy: &SharedMut<T>,
                   dx: Option<&SharedMut<T>>,
                   dw: &mut [T],
                   mut db: Option<&mut [T]>,
                   scratch: &mut [T]| {
        let mut dw2 = matrix_mut(dw, cout, k);
        let (cols_buf, dcols) = scratch.split_at_mut(cols_len);
        let dcols = &mut dcols[..dcols_len];
        for s in range {
            let out = s * cout * p..(s + 1) * cout * p;
            // SAFETY: sample `s` belongs to this part only.
            let g = unsafe { dy.slice(out.clone()) };
            activation.backward_bias_rows(&y[out], g, p, db.as_deref_mut());
            let g = matrix(g, cout, p);
            let cols_s: &[T] = match patches {
                Patches::Saved(cols) => &cols[s * k * p..(s + 1) * k * p],
                Patches::Input(x, geometry) => {
                    let in_len = x.len() / n.max(1);
                    geometry.im2col(&x[s * in_len..(s + 1) * in_len], cols_buf);
                    cols_buf
                }
            };
            let cols_s = matrix(cols_s, k, p);
            gemm_unchecked(T::one(), g, cols_s.t(), T::one(), &mut dw2);
            if let (Some(dx), Some(geometry)) = (dx, &input) {
                gemm_unchecked(T::one(), w2.t(), g, T::zero(), &mut matrix_mut(dcols, k, p));
                // SAFETY: as above.
                let dx_s = unsafe { dx.slice(s * in_sample..(s + 1) * in_sample) };
                dx_s.fill(T::zero());
                geometry.col2im(dcols, dx_s);
            }
        }
    };
    let dy = SharedMut::new(dy);
    let dx = dx.map(SharedMut::new);
    if !split_samples(n, 2 * cout * k * p) {
        return with_workspace(per_part, |ws: &mut [T]| {
            samples(0..n, &dy, dx.as_ref(), dw, dbias, ws);
            Ok(())
        });
    }
    // Parts after the first accumulate into their own weight and bias gradients (added up
    // after the split); every part has its own scratch, all from the workspace.
    let parts = threads();
    with_workspace(parts * per_part, |ws: &mut [T]| {
        for part in ws.chunks_exact_mut(per_part).skip(1) {
            part[..grads_len].fill(T::zero());
        }
        let (dw0, db0) = (SharedMut::new(dw), dbias.map(SharedMut::new));
        let ws_shared = SharedMut::new(ws);
        for_each_part(|part, parts_run| {
            let range = part_range(n, part, parts_run);
            // SAFETY: part 0 alone uses the caller's gradients; part i alone uses the i-th
            // chunk of the workspace.
            unsafe {
                let chunk = ws_shared.slice(part * per_part..(part + 1) * per_part);
                let (grads, scratch) = chunk.split_at_mut(grads_len);
                if part == 0 {
                    let db = db0.as_ref().map(|d| d.slice(0..cout));
                    samples(range, &dy, dx.as_ref(), dw0.slice(0..cout * k), db, scratch);
                } else if part < parts {
                    let (dw, db) = grads.split_at_mut(cout * k);
                    samples(range, &dy, dx.as_ref(), dw, has_bias.then_some(db), scratch);
                }
            }
        });
        // SAFETY: the parts are done; these are the only slices now.
        let (dw, mut db) = unsafe {
            (
                dw0.slice(0..cout * k),
                db0.as_ref().map(|d| d.slice(0..cout)),
            )
        };
        for part in ws.chunks_exact(per_part).skip(1) {
            for (d, &v) in dw.iter_mut().zip(&part[..cout * k]) {
                *d = *d + v;
            }
            if let Some(db) = db.as_deref_mut() {
                for (d, &v) in db.iter_mut().zip(&part[cout * k..grads_len]) {
                    *d = *d + v;
                }
            }
        }
        Ok(())
    })
}

/// Shapes of a convolution, derived from the input shape, the weight and the window.
struct ConvShapes {
    n: usize,
    cout: usize,
    k: usize,
    p: usize,
    out_hw: (usize, usize),
    geometry: Geometry,
}

impl ConvShapes {
    fn new(x: &[usize], weight: ArrayView4<'_, impl Float>, window: &Window2d) -> Result<Self> {
        let (cout, cin, kh, kw) = weight.dim();
        if (kh, kw) != window.kernel {
            return Err(config_error(
                LAYER,
                format!(
                    "weight {:?} has a {kh}x{kw} kernel but the window is {}x{}",
                    weight.shape(),
                    window.kernel.0,
                    window.kernel.1
                ),
            ));
        }
        check_shape(LAYER, "input", x, &[None, Some(cin), None, None])?;
        let (n, h, w) = (x[0], x[2], x[3]);
        let out_hw = window.checked_output_size(LAYER, (h, w))?;
        let k = cin * kh * kw;
        let p = out_hw.0 * out_hw.1;
        let geometry = Geometry::new(LAYER, (cin, h, w), window, (k, p))?;
        Ok(ConvShapes {
            n,
            cout,
            k,
            p,
            out_hw,
            geometry,
        })
    }

    fn output(&self) -> [Option<usize>; 4] {
        [
            Some(self.n),
            Some(self.cout),
            Some(self.out_hw.0),
            Some(self.out_hw.1),
        ]
    }
}

fn weight_matrix<'a, T: Float>(
    weight: ArrayView4<'a, T>,
    cout: usize,
    k: usize,
) -> Result<ArrayView2<'a, T>> {
    let w = contiguous(LAYER, "weight", weight.to_slice())?;
    Ok(matrix(w, cout, k))
}

fn matrix<T>(s: &[T], rows: usize, cols: usize) -> ArrayView2<'_, T> {
    ArrayView2::from_shape((rows, cols), s).expect("caller sliced rows * cols elements")
}

fn matrix_mut<T>(s: &mut [T], rows: usize, cols: usize) -> ArrayViewMut2<'_, T> {
    ArrayViewMut2::from_shape((rows, cols), s).expect("caller sliced rows * cols elements")
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array3, Array4};

    use super::{conv2d_backward, conv2d_backward_from_input, conv2d_forward};
    use crate::init::Rng;
    use crate::{Activation, Window2d};

    fn random(shape: (usize, usize, usize, usize), seed: u64) -> Array4<f64> {
        let mut rng = Rng::new(seed);
        Array4::from_shape_fn(shape, |_| rng.normal())
    }

    /// Split over threads (a batch big enough), one slot or a slot per sample, patches saved or
    /// formed again: the same results as one thread, up to the order of the sums over samples.
    #[test]
    fn split_and_recomputed_paths_agree_with_one_thread() {
        let (n, cin, cout, h) = (32, 8, 16, 16); // 32 x 295k multiply-adds: split
        let window = Window2d::new((3, 3)).padding((1, 1));
        let x = random((n, cin, h, h), 1);
        let w = random((cout, cin, 3, 3), 2);
        let b = Array1::from_shape_fn(cout, |i| i as f64 * 0.1 - 0.5);
        let g = random((n, cout, h, h), 3);
        let (k, p) = (cin * 9, h * h);
        let act = Activation::Tanh;

        let run = |slots: usize, from_input: bool| {
            let mut cols = Array3::zeros((slots, k, p));
            let mut y = Array4::zeros((n, cout, h, h));
            conv2d_forward(
                x.view(),
                w.view(),
                Some(b.view()),
                &window,
                act,
                cols.view_mut(),
                y.view_mut(),
            )
            .unwrap();
            let (mut dy, mut dw, mut db, mut dx) = (
                g.clone(),
                Array4::zeros(w.dim()),
                Array1::zeros(cout),
                Array4::zeros(x.dim()),
            );
            if from_input {
                conv2d_backward_from_input(
                    w.view(),
                    &window,
                    x.view(),
                    act,
                    y.view(),
                    dy.view_mut(),
                    dw.view_mut(),
                    Some(db.view_mut()),
                    Some(dx.view_mut()),
                )
                .unwrap();
            } else {
                conv2d_backward(
                    w.view(),
                    &window,
                    cols.view(),
                    act,
                    y.view(),
                    dy.view_mut(),
                    dw.view_mut(),
                    Some(db.view_mut()),
                    Some(dx.view_mut()),
                )
                .unwrap();
            }
            (y, dw, db, dx)
        };
        let single = matrixmultiply::with_max_threads(1, || run(n, false));
        for (slots, from_input) in [(n, false), (1, true), (n, true)] {
            let (y, dw, db, dx) = run(slots, from_input);
            let close = |a: &[f64], b: &[f64], what: &str| {
                for (u, v) in a.iter().zip(b) {
                    assert!(
                        (u - v).abs() <= 1e-12 * (1.0 + v.abs()),
                        "{what} ({slots} slots, from input {from_input}): {u} vs {v}"
                    );
                }
            };
            assert_eq!(y, single.0, "forward ({slots} slots)");
            close(
                dw.as_slice().unwrap(),
                single.1.as_slice().unwrap(),
                "dweight",
            );
            close(
                db.as_slice().unwrap(),
                single.2.as_slice().unwrap(),
                "dbias",
            );
            assert_eq!(dx, single.3, "dx ({slots} slots, from input {from_input})");
        }
    }
}
