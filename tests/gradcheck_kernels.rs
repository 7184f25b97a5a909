//! Every backward kernel of the runtime against central finite differences, in f64.
//!
//! For a kernel `y = F(x, θ)` the scalar objective is `L = Σ (y ⊙ r)` for a fixed random `r`, so
//! the analytic gradient is the kernel's backward with `dy = r`, and the numeric one is
//! `numeric_gradient` of `L`. Losses are checked directly: the gradient they write against the
//! finite-difference gradient of the loss they return.

use tapeless::gradcheck::{max_relative_error, numeric_gradient};
use tapeless::init::Rng;
use tapeless::ndarray::{s, Array, Array1, Array2, Array3, Array4, Dimension, ShapeBuilder, Zip};
use tapeless::{
    avg_pool2d_backward, avg_pool2d_forward, bce_with_logits, conv2d_backward, conv2d_forward,
    cross_entropy, flatten, flatten_mut, linear_backward, linear_forward, max_pool2d_backward,
    max_pool2d_forward, mse_loss, Activation, Reduction, Window2d,
};

/// Finite-difference step.
const H: f64 = 1e-6;
/// Relative errors are taken against `max(|a|, |b|, FLOOR)`. With `H = 1e-6` the rounding
/// noise of a central difference is ~1e-10..1e-9 *absolute* per entry, whatever the entry's
/// size (`eps · |L| / H`), so a floor of 1e-6 would demand an impossible 1e-12 on tiny entries.
/// Gradients here are O(0.1..40); below 1e-2 an entry must match to 1e-8 absolute.
const FLOOR: f64 = 1e-2;
/// Largest relative error accepted between an analytic and a numeric gradient (worst seen:
/// ~1.5e-7, a loss; ~1e-7 for the layer kernels).
const TOL: f64 = 1e-6;

const ACTIVATIONS: [Activation; 5] = [
    Activation::Identity,
    Activation::ReLU,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::LeakyReLU(0.1),
];

const REDUCTIONS: [Reduction; 2] = [Reduction::Mean, Reduction::Sum];

/// Standard-normal entries.
fn random<Sh: ShapeBuilder>(shape: Sh, rng: &mut Rng) -> Array<f64, Sh::Dim> {
    Array::from_shape_simple_fn(shape, || rng.normal())
}

/// A random permutation of a grid with spacing 0.01 centred on 0: no two entries are within
/// 0.01 of each other, so a ±H perturbation never changes which element of a window is the
/// maximum.
fn distinct<Sh: ShapeBuilder>(shape: Sh, rng: &mut Rng) -> Array<f64, Sh::Dim> {
    let mut a = Array::zeros(shape);
    let len = a.len();
    let mut perm: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        perm.swap(i, rng.below(i + 1));
    }
    for (v, &p) in a.iter_mut().zip(&perm) {
        *v = (p as f64 - len as f64 / 2.0) * 0.01;
    }
    a
}

/// A buffer an overwriting kernel must not read.
fn garbage<Sh: ShapeBuilder>(shape: Sh) -> Array<f64, Sh::Dim> {
    Array::from_elem(shape, f64::NAN)
}

/// `L = Σ (y − y0) ⊙ r`, which differs from `Σ y ⊙ r` by a constant: subtracting the
/// unperturbed output `y0` first makes every untouched output contribute an exact 0, so the
/// sum's rounding noise no longer swamps the O(H) change (about 10x less noise in the FD).
fn objective<D: Dimension>(y: &Array<f64, D>, y0: &Array<f64, D>, r: &Array<f64, D>) -> f64 {
    Zip::from(y)
        .and(y0)
        .and(r)
        .fold(0.0, |acc, &y, &y0, &r| acc + (y - y0) * r)
}

/// Asserts `analytic ≈ numeric` (relative error at most `TOL` above `FLOOR`), naming the case.
fn check<D: Dimension>(name: &str, analytic: &Array<f64, D>, numeric: &Array<f64, D>) {
    check_with(name, analytic, numeric, FLOOR, TOL)
}

fn check_with<D: Dimension>(
    name: &str,
    analytic: &Array<f64, D>,
    numeric: &Array<f64, D>,
    floor: f64,
    tol: f64,
) {
    let err = max_relative_error(analytic, numeric, floor);
    let abs = Zip::from(analytic)
        .and(numeric)
        .fold(0.0f64, |m, &a, &b| m.max((a - b).abs()));
    // Visible with `--nocapture`: the margin of every case.
    eprintln!("relerr {err:9.3e}  abs {abs:9.3e}  {name}");
    assert!(
        err <= tol,
        "{name}: relative error {err:e} > {tol:e}\nanalytic:\n{analytic:?}\nnumeric:\n{numeric:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Linear

fn linear_y(
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: Option<&Array1<f64>>,
    act: Activation,
) -> Array2<f64> {
    let mut y = Array2::zeros((x.nrows(), w.nrows()));
    linear_forward(x.view(), w.view(), b.map(|b| b.view()), act, y.view_mut()).unwrap();
    y
}

#[test]
fn linear_gradients() {
    let mut rng = Rng::new(0x11);
    let (inp, out) = (6, 4);
    for n in [1, 3] {
        for with_bias in [false, true] {
            for act in ACTIVATIONS {
                let name = format!("linear n={n} bias={with_bias} {act:?}");
                let mut x = random((n, inp), &mut rng);
                let mut w = random((out, inp), &mut rng) / (inp as f64).sqrt();
                let mut b = with_bias.then(|| random(out, &mut rng));
                let r = random((n, out), &mut rng);
                let y = linear_y(&x, &w, b.as_ref(), act);

                let mut dw = Array2::zeros(w.dim());
                let mut db = Array1::zeros(out);
                let mut dx = garbage(x.dim());
                let backward =
                    |dw: &mut Array2<f64>, db: &mut Array1<f64>, dx: &mut Array2<f64>| {
                        let mut dy = r.clone();
                        linear_backward(
                            x.view(),
                            w.view(),
                            act,
                            y.view(),
                            dy.view_mut(),
                            dw.view_mut(),
                            with_bias.then(|| db.view_mut()),
                            Some(dx.view_mut()),
                        )
                        .unwrap();
                        // On return dy holds the gradient before the activation.
                        let pre = Zip::from(&r)
                            .and(&y)
                            .map_collect(|&r, &y| r * act.derivative_from_output(y));
                        assert_eq!(dy, pre, "{name}: dy after backward");
                    };
                backward(&mut dw, &mut db, &mut dx);
                let (dw1, db1, dx1) = (dw.clone(), db.clone(), dx.clone());
                dx.fill(1e300);
                backward(&mut dw, &mut db, &mut dx);

                let nx = numeric_gradient(&mut x, H, |x| {
                    objective(&linear_y(x, &w, b.as_ref(), act), &y, &r)
                });
                let nw = numeric_gradient(&mut w, H, |w| {
                    objective(&linear_y(&x, w, b.as_ref(), act), &y, &r)
                });
                check(&format!("{name} dx"), &dx1, &nx);
                check(&format!("{name} dweight"), &dw1, &nw);
                // Parameter gradients accumulate, the input gradient is overwritten.
                check(&format!("{name} dweight x2"), &dw, &(&nw * 2.0));
                check(&format!("{name} dx (2nd call)"), &dx, &nx);
                if let Some(b) = b.as_mut() {
                    let nb = numeric_gradient(b, H, |b| {
                        objective(&linear_y(&x, &w, Some(b), act), &y, &r)
                    });
                    check(&format!("{name} dbias"), &db1, &nb);
                    check(&format!("{name} dbias x2"), &db, &(&nb * 2.0));
                } else {
                    assert!(
                        db.iter().all(|&v| v == 0.0),
                        "{name}: dbias written without bias"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conv2d

struct ConvCase {
    name: &'static str,
    n: usize,
    cin: usize,
    cout: usize,
    hw: (usize, usize),
    window: Window2d,
    bias: bool,
    act: Activation,
}

fn conv_y(
    x: &Array4<f64>,
    w: &Array4<f64>,
    b: Option<&Array1<f64>>,
    window: &Window2d,
    act: Activation,
) -> (Array4<f64>, Array3<f64>) {
    let (n, _, h, wd) = x.dim();
    let (cout, cin, kh, kw) = w.dim();
    let (oh, ow) = window.output_size((h, wd)).expect("window fits");
    let mut cols = garbage((n, cin * kh * kw, oh * ow));
    let mut y = garbage((n, cout, oh, ow));
    conv2d_forward(
        x.view(),
        w.view(),
        b.map(|b| b.view()),
        window,
        act,
        cols.view_mut(),
        y.view_mut(),
    )
    .unwrap();
    (y, cols)
}

#[test]
fn conv2d_gradients() {
    let k = Window2d::new;
    let cases = [
        ConvCase {
            name: "3x3 n=1",
            n: 1,
            cin: 2,
            cout: 3,
            hw: (7, 6),
            window: k((3, 3)),
            bias: true,
            act: Activation::Identity,
        },
        ConvCase {
            name: "13x11 n=3 3x3 s2 p1 d2",
            n: 3,
            cin: 2,
            cout: 3,
            hw: (13, 11),
            window: k((3, 3)).stride((2, 2)).padding((1, 1)).dilation((2, 2)),
            bias: true,
            act: Activation::Tanh,
        },
        ConvCase {
            name: "13x11 n=3 3x5 s2 no-bias",
            n: 3,
            cin: 2,
            cout: 2,
            hw: (13, 11),
            window: k((3, 5)).stride((2, 2)),
            bias: false,
            act: Activation::ReLU,
        },
        ConvCase {
            name: "rect 2x4 s(1,3) p(1,2)",
            n: 2,
            cin: 3,
            cout: 2,
            hw: (9, 10),
            window: k((2, 4)).stride((1, 3)).padding((1, 2)),
            bias: true,
            act: Activation::Sigmoid,
        },
        ConvCase {
            name: "stride > kernel 2x2 s3",
            n: 1,
            cin: 2,
            cout: 2,
            hw: (8, 7),
            window: k((2, 2)).stride((3, 3)),
            bias: true,
            act: Activation::LeakyReLU(0.1),
        },
        ConvCase {
            name: "padding > kernel 2x3 s2 p(3,2)",
            n: 2,
            cin: 1,
            cout: 2,
            hw: (5, 4),
            window: k((2, 3)).stride((2, 2)).padding((3, 2)),
            bias: true,
            act: Activation::Tanh,
        },
        ConvCase {
            name: "1x1 s2",
            n: 2,
            cin: 3,
            cout: 2,
            hw: (5, 5),
            window: k((1, 1)).stride((2, 2)),
            bias: false,
            act: Activation::Identity,
        },
        ConvCase {
            name: "3x3 s(2,1) p(2,0) d(1,3)",
            n: 2,
            cin: 2,
            cout: 3,
            hw: (11, 13),
            window: k((3, 3)).stride((2, 1)).padding((2, 0)).dilation((1, 3)),
            bias: true,
            act: Activation::ReLU,
        },
        ConvCase {
            name: "kernel = input 13x11",
            n: 2,
            cin: 2,
            cout: 3,
            hw: (13, 11),
            window: k((13, 11)),
            bias: true,
            act: Activation::Tanh,
        },
    ];
    let mut rng = Rng::new(0xC0);
    for case in &cases {
        let ConvCase {
            n,
            cin,
            cout,
            hw: (h, wd),
            window,
            act,
            ..
        } = *case;
        let name = format!("conv2d {} {act:?} bias={}", case.name, case.bias);
        let (kh, kw) = window.kernel;
        let mut x = random((n, cin, h, wd), &mut rng);
        let mut w = random((cout, cin, kh, kw), &mut rng) / ((cin * kh * kw) as f64).sqrt();
        let mut b = case.bias.then(|| random(cout, &mut rng));
        let (y, cols) = conv_y(&x, &w, b.as_ref(), &window, act);
        let (_, _, oh, ow) = y.dim();
        let r = random(y.dim(), &mut rng);

        // A one-slot workspace (inference) gives the same output.
        let mut cols1 = garbage((1, cin * kh * kw, oh * ow));
        let mut y1 = garbage(y.dim());
        conv2d_forward(
            x.view(),
            w.view(),
            b.as_ref().map(|b| b.view()),
            &window,
            act,
            cols1.view_mut(),
            y1.view_mut(),
        )
        .unwrap();
        assert_eq!(y1, y, "{name}: forward with a one-slot workspace");

        let mut dw = Array4::zeros(w.dim());
        let mut db = Array1::zeros(cout);
        let mut dx = garbage(x.dim());
        let backward =
            |dw: &mut Array4<f64>, db: &mut Array1<f64>, dx: Option<&mut Array4<f64>>| {
                let mut dy = r.clone(); // overwritten with the pre-activation gradient
                conv2d_backward(
                    w.view(),
                    &window,
                    cols.view(),
                    act,
                    y.view(),
                    dy.view_mut(),
                    dw.view_mut(),
                    case.bias.then(|| db.view_mut()),
                    dx.map(|dx| dx.view_mut()),
                )
                .unwrap();
                let pre = Zip::from(&r)
                    .and(&y)
                    .map_collect(|&r, &y| r * act.derivative_from_output(y));
                assert_eq!(dy, pre, "{name}: dy after backward");
            };
        backward(&mut dw, &mut db, Some(&mut dx));
        let (dw1, db1, dx1) = (dw.clone(), db.clone(), dx.clone());
        dx.fill(1e300);
        backward(&mut dw, &mut db, Some(&mut dx));
        // Without an input gradient (first layer) the parameter gradients are the same.
        let (mut dw_first, mut db_first) = (Array4::zeros(w.dim()), Array1::zeros(cout));
        backward(&mut dw_first, &mut db_first, None);
        assert_eq!(dw_first, dw1, "{name}: dweight with dx = None");
        assert_eq!(db_first, db1, "{name}: dbias with dx = None");

        let f = |x: &Array4<f64>, w: &Array4<f64>, b: Option<&Array1<f64>>| {
            objective(&conv_y(x, w, b, &window, act).0, &y, &r)
        };
        let nx = numeric_gradient(&mut x, H, |x| f(x, &w, b.as_ref()));
        let nw = numeric_gradient(&mut w, H, |w| f(&x, w, b.as_ref()));
        check(&format!("{name} dx"), &dx1, &nx);
        check(&format!("{name} dweight"), &dw1, &nw);
        check(&format!("{name} dx (2nd call)"), &dx, &nx);
        check(&format!("{name} dweight x2"), &dw, &(&nw * 2.0));
        if let Some(b) = b.as_mut() {
            let nb = numeric_gradient(b, H, |b| f(&x, &w, Some(b)));
            check(&format!("{name} dbias"), &db1, &nb);
            check(&format!("{name} dbias x2"), &db, &(&nb * 2.0));
        } else {
            assert!(
                db.iter().all(|&v| v == 0.0),
                "{name}: dbias written without bias"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pooling

fn max_pool_y(x: &Array4<f64>, window: &Window2d) -> (Array4<f64>, Array4<usize>) {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = window.output_size((h, w)).expect("window fits");
    let mut y = garbage((n, c, oh, ow));
    let mut argmax = Array4::from_elem((n, c, oh, ow), usize::MAX);
    max_pool2d_forward(x.view(), window, y.view_mut(), argmax.view_mut()).unwrap();
    (y, argmax)
}

fn avg_pool_y(x: &Array4<f64>, window: &Window2d) -> Array4<f64> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = window.output_size((h, w)).expect("window fits");
    let mut y = garbage((n, c, oh, ow));
    avg_pool2d_forward(x.view(), window, y.view_mut()).unwrap();
    y
}

#[test]
fn max_pool2d_gradients() {
    let k = Window2d::new;
    let cases = [
        (
            "k3 s2 p1 13x11 n=3",
            (3, 2, 13, 11),
            k((3, 3)).stride((2, 2)).padding((1, 1)),
        ),
        ("k3 s1 overlapping n=3", (3, 2, 9, 8), k((3, 3))),
        (
            "k(2,3) s(1,2) p(1,1)",
            (2, 3, 7, 9),
            k((2, 3)).stride((1, 2)).padding((1, 1)),
        ),
        (
            "k3 s2 p1 d2",
            (2, 2, 13, 11),
            k((3, 3)).stride((2, 2)).padding((1, 1)).dilation((2, 2)),
        ),
        ("k2 s3 (gaps)", (1, 2, 8, 7), k((2, 2)).stride((3, 3))),
    ];
    let mut rng = Rng::new(0x3A);
    for (case, shape, window) in cases {
        let name = format!("max_pool2d {case}");
        let mut x = distinct(shape, &mut rng);
        let (y, argmax) = max_pool_y(&x, &window);
        let r = random(y.dim(), &mut rng);
        let mut dx = garbage(x.dim());
        max_pool2d_backward(r.view(), argmax.view(), dx.view_mut()).unwrap();
        let nx = numeric_gradient(&mut x, H, |x| objective(&max_pool_y(x, &window).0, &y, &r));
        check(&name, &dx, &nx);
    }
}

#[test]
fn avg_pool2d_gradients() {
    let k = Window2d::new;
    let cases = [
        (
            "k3 s2 p1 13x11 n=3",
            (3, 2, 13, 11),
            k((3, 3)).stride((2, 2)).padding((1, 1)),
        ),
        (
            "k(2,3) s(1,2) p(1,1)",
            (2, 3, 7, 9),
            k((2, 3)).stride((1, 2)).padding((1, 1)),
        ),
        ("k3 s1 overlapping", (1, 2, 6, 5), k((3, 3))),
        ("k2 s3 (gaps)", (1, 2, 8, 7), k((2, 2)).stride((3, 3))),
    ];
    let mut rng = Rng::new(0xA7);
    for (case, shape, window) in cases {
        let name = format!("avg_pool2d {case}");
        let mut x = random(shape, &mut rng);
        let y = avg_pool_y(&x, &window);
        let r = random(y.dim(), &mut rng);
        let mut dx = garbage(x.dim());
        avg_pool2d_backward(r.view(), &window, dx.view_mut()).unwrap();
        let nx = numeric_gradient(&mut x, H, |x| objective(&avg_pool_y(x, &window), &y, &r));
        check(&name, &dx, &nx);
    }
}

// ---------------------------------------------------------------------------------------------
// Activations

#[test]
fn activation_gradients() {
    let mut rng = Rng::new(0xAC);
    let acts = [
        ACTIVATIONS.as_slice(),
        &[Activation::LeakyReLU(0.0), Activation::LeakyReLU(2.5)],
    ]
    .concat();
    for act in acts {
        let name = format!("activation {act:?}");
        // Away from the kink at 0: |x| > 1e-3.
        let mut x = random((3, 7), &mut rng).mapv(|v| v.signum() * (v.abs() + 1e-3));
        let r = random((3, 7), &mut rng);
        let forward = |x: &Array2<f64>| {
            let mut y = garbage(x.dim());
            act.forward(x.view(), y.view_mut()).unwrap();
            y
        };
        let y = forward(&x);
        let mut in_place = x.clone();
        act.forward_inplace(in_place.view_mut());
        assert_eq!(in_place, y, "{name}: forward_inplace vs forward");
        let mut dy = r.clone();
        act.backward_inplace(y.view(), dy.view_mut()).unwrap();
        let nx = numeric_gradient(&mut x, H, |x| objective(&forward(x), &y, &r));
        check(&name, &dy, &nx);
    }
}

// ---------------------------------------------------------------------------------------------
// Losses

#[test]
fn mse_loss_gradients() {
    let mut rng = Rng::new(0x35);
    for reduction in REDUCTIONS {
        for shape in [vec![3, 5], vec![2, 3, 4]] {
            let name = format!("mse_loss {reduction:?} {shape:?}");
            let mut x = random(shape.clone(), &mut rng);
            let t = random(shape.clone(), &mut rng);
            let mut grad = garbage(shape.clone());
            let loss = mse_loss(x.view(), t.view(), reduction, Some(grad.view_mut())).unwrap();
            let loss_only = mse_loss(x.view(), t.view(), reduction, None).unwrap();
            assert_eq!(loss, loss_only, "{name}: loss with and without gradient");
            let numeric = numeric_gradient(&mut x, H, |x| {
                mse_loss(x.view(), t.view(), reduction, None).unwrap()
            });
            check(&name, &grad, &numeric);
        }
    }
}

#[test]
fn cross_entropy_gradients() {
    let mut rng = Rng::new(0xCE);
    let (n, classes) = (4, 6);
    for reduction in REDUCTIONS {
        let name = format!("cross_entropy {reduction:?}");
        let mut logits = random((n, classes), &mut rng) * 3.0;
        let target = Array1::from_shape_simple_fn(n, || rng.below(classes));
        let mut grad = garbage((n, classes));
        let loss = cross_entropy(
            logits.view(),
            target.view(),
            reduction,
            Some(grad.view_mut()),
        )
        .unwrap();
        let loss_only = cross_entropy(logits.view(), target.view(), reduction, None).unwrap();
        assert_eq!(loss, loss_only, "{name}: loss with and without gradient");
        let numeric = numeric_gradient(&mut logits, H, |l| {
            cross_entropy(l.view(), target.view(), reduction, None).unwrap()
        });
        check(&name, &grad, &numeric);
    }
}

/// Softmax cross-entropy by hand, `(loss, dL/dlogits)`, stable for any magnitude.
fn softmax_cross_entropy(
    logits: &Array2<f64>,
    target: &Array1<usize>,
    reduction: Reduction,
) -> (f64, Array2<f64>) {
    let scale = match reduction {
        Reduction::Mean => 1.0 / logits.nrows() as f64,
        Reduction::Sum => 1.0,
    };
    let mut grad = Array2::zeros(logits.dim());
    let mut loss = 0.0;
    for (i, row) in logits.rows().into_iter().enumerate() {
        let m = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let e = row.mapv(|v| (v - m).exp());
        let z = e.sum();
        loss += m + z.ln() - row[target[i]];
        let mut g = grad.row_mut(i);
        g.assign(&(e / z * scale));
        g[target[i]] -= scale;
    }
    (loss * scale, grad)
}

#[test]
fn cross_entropy_large_logits() {
    let mut rng = Rng::new(0xB16);
    let (n, classes) = (4, 5);
    let mut logits = random((n, classes), &mut rng) * 1e4;
    // A row whose softmax is not one-hot at 1e4: two logits 0.5 apart, a third 1 below.
    logits
        .row_mut(0)
        .assign(&Array1::from(vec![1e4, 1e4 + 0.5, -1e4, 3e3, 1e4 - 1.0]));
    let mut target = Array1::from_shape_simple_fn(n, || rng.below(classes));
    target[0] = 0;
    for reduction in REDUCTIONS {
        let name = format!("cross_entropy |logits|~1e4 {reduction:?}");
        let mut grad = garbage((n, classes));
        let loss = cross_entropy(
            logits.view(),
            target.view(),
            reduction,
            Some(grad.view_mut()),
        )
        .unwrap();
        assert!(loss.is_finite(), "{name}: loss {loss}");
        let (want_loss, want_grad) = softmax_cross_entropy(&logits, &target, reduction);
        let loss_err = (loss - want_loss).abs() / want_loss.abs().max(1.0);
        assert!(loss_err < 1e-12, "{name}: loss {loss} vs {want_loss}");
        check(&format!("{name} vs softmax - onehot"), &grad, &want_grad);
        // Finite differences need a larger step here: L is ~1e4, so h = 1e-6 would lose ~6
        // digits to rounding. Compare absolutely (floor 1): entries are in [-1, 1].
        let numeric = numeric_gradient(&mut logits, 1e-3, |l| {
            cross_entropy(l.view(), target.view(), reduction, None).unwrap()
        });
        check_with(&format!("{name} vs FD(h=1e-3)"), &grad, &numeric, 1.0, 1e-6);
    }
}

#[test]
fn bce_with_logits_gradients() {
    let mut rng = Rng::new(0xBCE);
    for reduction in REDUCTIONS {
        let name = format!("bce_with_logits {reduction:?}");
        let mut x = random((3, 5), &mut rng) * 2.0;
        let t = Array2::from_shape_simple_fn((3, 5), || rng.uniform());
        let mut grad = garbage((3, 5));
        let loss = bce_with_logits(x.view(), t.view(), reduction, Some(grad.view_mut())).unwrap();
        let loss_only = bce_with_logits(x.view(), t.view(), reduction, None).unwrap();
        assert_eq!(loss, loss_only, "{name}: loss with and without gradient");
        let numeric = numeric_gradient(&mut x, H, |x| {
            bce_with_logits(x.view(), t.view(), reduction, None).unwrap()
        });
        check(&name, &grad, &numeric);
    }
    // Huge logits: finite loss, gradient σ(x) − t.
    let x = Array1::from(vec![1e4, -1e4, 50.0, -50.0, 0.0]);
    let t = Array1::from(vec![0.25, 0.75, 1.0, 0.0, 0.5]);
    let mut grad = garbage(5);
    let loss = bce_with_logits(x.view(), t.view(), Reduction::Sum, Some(grad.view_mut())).unwrap();
    // 0.75·1e4 + 0.75·1e4 + (≈0) + (≈0) + ln 2
    let want = 1.5e4 + 2.0 * (-50f64).exp().ln_1p() + 2f64.ln();
    assert!(
        (loss - want).abs() <= 1e-12 * want,
        "bce_with_logits |x|=1e4: loss {loss} vs {want}"
    );
    let want_grad = Zip::from(&x)
        .and(&t)
        .map_collect(|&x, &t| 1.0 / (1.0 + (-x).exp()) - t);
    check("bce_with_logits |x|=1e4 vs sigmoid - t", &grad, &want_grad);
}

// ---------------------------------------------------------------------------------------------
// Flatten

#[test]
fn flatten_round_trip() {
    let mut rng = Rng::new(0xF1);
    let mut x: Array4<f64> = random((2, 3, 4, 5), &mut rng);
    let ptr = x.as_ptr();
    let flat = flatten(x.view()).unwrap();
    assert_eq!(flat.dim(), (2, 60));
    assert_eq!(flat.as_ptr(), ptr, "flatten copied");
    assert_eq!(flat.as_slice(), x.as_slice());
    assert_eq!(flat[[1, 2 * 20 + 3 * 5 + 4]], x[[1, 2, 3, 4]]);
    let mut flat = flatten_mut(x.view_mut()).unwrap();
    assert_eq!(flat.dim(), (2, 60));
    assert_eq!(flat.as_ptr(), ptr, "flatten_mut copied");
    // Writing through the flat view writes the 4-D array.
    flat[[1, 59]] = 42.0;
    assert_eq!(x[[1, 2, 3, 4]], 42.0);

    // Views that would need a copy are rejected.
    assert!(flatten(x.t()).is_err(), "transposed view");
    assert!(
        flatten(x.view().permuted_axes([0, 2, 1, 3])).is_err(),
        "permuted view"
    );
    assert!(
        flatten(x.slice(s![.., .., ..;2, ..])).is_err(),
        "strided slice"
    );
    assert!(
        flatten(x.slice(s![..;2, .., .., ..])).is_ok(),
        "batch-strided slice of one sample is standard"
    );
    let mut y: Array4<f64> = random((4, 3, 4, 5), &mut rng);
    assert!(
        flatten(y.slice(s![..;2, .., .., ..])).is_err(),
        "batch-strided slice"
    );
    assert!(
        flatten_mut(y.slice_mut(s![.., 1.., .., ..])).is_err(),
        "channel slice (mut)"
    );
    assert!(
        flatten_mut(y.slice_mut(s![1..3, .., .., ..])).is_ok(),
        "batch range is contiguous"
    );
}
