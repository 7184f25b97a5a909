//! Every kernel's forward and backward against PyTorch, on the committed fixtures
//! (`tests/fixtures/make_kernel_fixtures.py`): f64 to 1e-10, f32 to 1e-5, relative.

mod common;

use common::{assert_close, Fixture, FixtureFloat};
use tapeless::ndarray::{Array2, Array3, Array4, ArrayD, Ix1, Ix2, Ix4};
use tapeless::{Activation, Reduction, Window2d};

fn dims4<T: Clone>(a: ArrayD<T>) -> Array4<T> {
    a.into_dimensionality::<Ix4>().unwrap()
}

fn dims2<T: Clone>(a: ArrayD<T>) -> Array2<T> {
    a.into_dimensionality::<Ix2>().unwrap()
}

fn linear_case<T: FixtureFloat>(f: &Fixture) {
    let x = dims2(f.get::<T>("x"));
    let w = dims2(f.get::<T>("weight"));
    let bias = f
        .flag("bias")
        .then(|| f.get::<T>("bias").into_dimensionality::<Ix1>().unwrap());
    let mut y = Array2::from_elem((x.nrows(), w.nrows()), T::nan());
    tapeless::linear_forward(
        x.view(),
        w.view(),
        bias.as_ref().map(|b| b.view()),
        Activation::Identity,
        y.view_mut(),
    )
    .unwrap();
    assert_close(&f.name, "y", &y.clone().into_dyn(), &f.get::<T>("y"));

    let mut dy = dims2(f.get::<T>("dy"));
    let mut dw = Array2::zeros(w.dim());
    let mut db = bias.as_ref().map(|b| b.mapv(|_| T::zero()));
    let mut dx = Array2::from_elem(x.dim(), T::nan());
    tapeless::linear_backward(
        x.view(),
        w.view(),
        Activation::Identity,
        y.view(),
        dy.view_mut(),
        dw.view_mut(),
        db.as_mut().map(|d| d.view_mut()),
        Some(dx.view_mut()),
    )
    .unwrap();
    assert_close(&f.name, "dx", &dx.into_dyn(), &f.get::<T>("dx"));
    assert_close(&f.name, "dweight", &dw.into_dyn(), &f.get::<T>("dweight"));
    if let Some(db) = db {
        assert_close(&f.name, "dbias", &db.into_dyn(), &f.get::<T>("dbias"));
    }
}

fn conv2d_case<T: FixtureFloat>(f: &Fixture) {
    let x = dims4(f.get::<T>("x"));
    let w = dims4(f.get::<T>("weight"));
    let bias = f
        .flag("bias")
        .then(|| f.get::<T>("bias").into_dimensionality::<Ix1>().unwrap());
    let window = Window2d::new(f.pair("kernel"))
        .stride(f.pair("stride"))
        .padding(f.pair("padding"))
        .dilation(f.pair("dilation"));
    let (n, cin, h, wd) = x.dim();
    let (oh, ow) = window.output_size((h, wd)).unwrap();
    let (cout, k) = (w.dim().0, cin * window.kernel.0 * window.kernel.1);
    let mut cols = Array3::from_elem((n, k, oh * ow), T::nan());
    let mut y = Array4::from_elem((n, cout, oh, ow), T::nan());
    tapeless::conv2d_forward(
        x.view(),
        w.view(),
        bias.as_ref().map(|b| b.view()),
        &window,
        Activation::Identity,
        cols.view_mut(),
        y.view_mut(),
    )
    .unwrap();
    assert_close(&f.name, "y", &y.clone().into_dyn(), &f.get::<T>("y"));

    // The forward-only form (one reused im2col slot) gives the same output.
    let mut slot = Array3::from_elem((1, k, oh * ow), T::nan());
    let mut y1 = Array4::from_elem(y.dim(), T::nan());
    tapeless::conv2d_forward(
        x.view(),
        w.view(),
        bias.as_ref().map(|b| b.view()),
        &window,
        Activation::Identity,
        slot.view_mut(),
        y1.view_mut(),
    )
    .unwrap();
    assert_eq!(y1, y, "{}: forward-only conv differs", f.name);

    let mut dy = dims4(f.get::<T>("dy"));
    let mut dw = Array4::zeros(w.dim());
    let mut db = bias.as_ref().map(|b| b.mapv(|_| T::zero()));
    let mut dx = Array4::from_elem(x.dim(), T::nan());
    tapeless::conv2d_backward(
        w.view(),
        &window,
        cols.view(),
        Activation::Identity,
        y.view(),
        dy.view_mut(),
        dw.view_mut(),
        db.as_mut().map(|d| d.view_mut()),
        Some(dx.view_mut()),
    )
    .unwrap();
    assert_close(&f.name, "dx", &dx.into_dyn(), &f.get::<T>("dx"));
    assert_close(&f.name, "dweight", &dw.into_dyn(), &f.get::<T>("dweight"));
    if let Some(db) = db {
        assert_close(&f.name, "dbias", &db.into_dyn(), &f.get::<T>("dbias"));
    }
}

fn pool_window(f: &Fixture) -> Window2d {
    Window2d::new(f.pair("kernel"))
        .stride(f.pair("stride"))
        .padding(f.pair("padding"))
}

fn max_pool2d_case<T: FixtureFloat>(f: &Fixture) {
    let x = dims4(f.get::<T>("x"));
    let window = pool_window(f);
    let (n, c, h, w) = x.dim();
    let (oh, ow) = window.output_size((h, w)).unwrap();
    let mut y = Array4::from_elem((n, c, oh, ow), T::nan());
    let mut argmax = Array4::from_elem((n, c, oh, ow), usize::MAX);
    tapeless::max_pool2d_forward(x.view(), &window, y.view_mut(), argmax.view_mut()).unwrap();
    assert_close(&f.name, "y", &y.into_dyn(), &f.get::<T>("y"));
    assert_eq!(
        argmax.clone().into_dyn(),
        f.ids("indices"),
        "{}: argmax",
        f.name
    );

    let dy = dims4(f.get::<T>("dy"));
    let mut dx = Array4::from_elem(x.dim(), T::nan());
    tapeless::max_pool2d_backward(dy.view(), argmax.view(), dx.view_mut()).unwrap();
    assert_close(&f.name, "dx", &dx.into_dyn(), &f.get::<T>("dx"));
}

fn avg_pool2d_case<T: FixtureFloat>(f: &Fixture) {
    let x = dims4(f.get::<T>("x"));
    let window = pool_window(f);
    let (n, c, h, w) = x.dim();
    let (oh, ow) = window.output_size((h, w)).unwrap();
    let mut y = Array4::from_elem((n, c, oh, ow), T::nan());
    tapeless::avg_pool2d_forward(x.view(), &window, y.view_mut()).unwrap();
    assert_close(&f.name, "y", &y.into_dyn(), &f.get::<T>("y"));

    let dy = dims4(f.get::<T>("dy"));
    let mut dx = Array4::from_elem(x.dim(), T::nan());
    tapeless::avg_pool2d_backward(dy.view(), &window, dx.view_mut()).unwrap();
    assert_close(&f.name, "dx", &dx.into_dyn(), &f.get::<T>("dx"));
}

fn activation_of(f: &Fixture) -> Activation {
    match f.meta("op") {
        "relu" => Activation::ReLU,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "leaky_relu" => Activation::LeakyReLU(f.meta("slope").parse().unwrap()),
        op => panic!("{}: not an activation: {op}", f.name),
    }
}

fn activation_case<T: FixtureFloat>(f: &Fixture) {
    let act = activation_of(f);
    let x = f.get::<T>("x");
    // Out of place, then in place: both are the kernel's public forms.
    let mut y = ArrayD::from_elem(x.raw_dim(), T::nan());
    act.forward(x.view(), y.view_mut()).unwrap();
    let mut y_inplace = x.clone();
    act.forward_inplace(y_inplace.view_mut());
    assert_close(&f.name, "y", &y, &f.get::<T>("y"));
    assert_eq!(y_inplace, y, "{}: in-place forward differs", f.name);

    let mut g = f.get::<T>("dy");
    act.backward_inplace(y.view(), g.view_mut()).unwrap();
    assert_close(&f.name, "dx", &g, &f.get::<T>("dx"));
}

fn reduction_of(f: &Fixture) -> Reduction {
    match f.meta("reduction") {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        r => panic!("{}: reduction {r}", f.name),
    }
}

fn loss_case<T: FixtureFloat>(f: &Fixture) {
    let input = f.get::<T>("input");
    let reduction = reduction_of(f);
    let mut grad = ArrayD::from_elem(input.raw_dim(), T::nan());
    let loss = match f.meta("op") {
        "mse" => tapeless::mse_loss(
            input.view(),
            f.get::<T>("target").view(),
            reduction,
            Some(grad.view_mut()),
        ),
        "bce_with_logits" => tapeless::bce_with_logits(
            input.view(),
            f.get::<T>("target").view(),
            reduction,
            Some(grad.view_mut()),
        ),
        "cross_entropy" => {
            let logits = input.view().into_dimensionality::<Ix2>().unwrap();
            let target = f.ids("target").into_dimensionality::<Ix1>().unwrap();
            let g = grad.view_mut().into_dimensionality::<Ix2>().unwrap();
            tapeless::cross_entropy(logits, target.view(), reduction, Some(g))
        }
        op => panic!("{}: not a loss: {op}", f.name),
    }
    .unwrap();
    assert!(loss.is_finite(), "{}: loss {loss}", f.name);
    let loss = ArrayD::from_elem(vec![], loss);
    assert_close(&f.name, "loss", &loss, &f.get::<T>("loss"));
    assert_close(&f.name, "dinput", &grad, &f.get::<T>("dinput"));
}

/// Runs `case` on every fixture of each op, in f64 and f32.
fn each(ops: &[&str], case64: fn(&Fixture), case32: fn(&Fixture)) {
    for op in ops {
        for f in Fixture::all(op) {
            case64(&f);
            case32(&f);
        }
    }
}

#[test]
fn linear_matches_pytorch() {
    each(&["linear"], linear_case::<f64>, linear_case::<f32>);
}

#[test]
fn conv2d_matches_pytorch() {
    each(&["conv2d"], conv2d_case::<f64>, conv2d_case::<f32>);
}

#[test]
fn max_pool2d_matches_pytorch_including_ties() {
    each(
        &["max_pool2d"],
        max_pool2d_case::<f64>,
        max_pool2d_case::<f32>,
    );
}

#[test]
fn avg_pool2d_matches_pytorch() {
    each(
        &["avg_pool2d"],
        avg_pool2d_case::<f64>,
        avg_pool2d_case::<f32>,
    );
}

#[test]
fn activations_match_pytorch() {
    each(
        &["relu", "sigmoid", "tanh", "leaky_relu"],
        activation_case::<f64>,
        activation_case::<f32>,
    );
}

#[test]
fn losses_match_pytorch() {
    each(
        &["mse", "cross_entropy", "bce_with_logits"],
        loss_case::<f64>,
        loss_case::<f32>,
    );
}
