//! The kernels' contracts beyond their numbers: GEMM's strides and alpha/beta, shape errors in
//! plain numbers, and that a failed call writes nothing.

use tapeless::init::Rng;
use tapeless::ndarray::{s, Array1, Array2, Array3, Array4};
use tapeless::{Activation, Error, Reduction, Window2d};

fn close(a: &Array2<f64>, b: &Array2<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs()))
}

fn random(rows: usize, cols: usize, rng: &mut Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.normal())
}

/// The textbook triple loop, the independent reference for GEMM.
fn naive_matmul(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let (m, k) = a.dim();
    let n = b.ncols();
    Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|p| a[[i, p]] * b[[p, j]]).sum())
}

#[test]
fn gemm_handles_transposed_and_strided_operands_with_alpha_beta() {
    let mut rng = Rng::new(1);
    let a = random(7, 5, &mut rng); // used as aᵀ: [5, 7]
    let big = random(14, 9, &mut rng); // every other row: [7, 9]
    let b = big.slice(s![..;2, ..]).to_owned();
    let c0 = random(5, 9, &mut rng);
    let mut c = c0.clone();
    tapeless::gemm(0.5, a.t(), big.slice(s![..;2, ..]), 2.0, &mut c.view_mut()).unwrap();
    let expected = naive_matmul(&a.t().to_owned(), &b) * 0.5 + &c0 * 2.0;
    assert!(close(&c, &expected), "{c:?}\n{expected:?}");
}

#[test]
fn gemm_beta_zero_ignores_nan_in_output() {
    let mut rng = Rng::new(2);
    let (a, b) = (random(3, 4, &mut rng), random(4, 2, &mut rng));
    let mut c = Array2::from_elem((3, 2), f64::NAN);
    tapeless::gemm(1.0, a.view(), b.view(), 0.0, &mut c.view_mut()).unwrap();
    assert!(close(&c, &naive_matmul(&a, &b)));
}

#[test]
fn gemm_shape_mismatch_names_the_shapes() {
    let a = Array2::<f32>::zeros((3, 4));
    let b = Array2::<f32>::zeros((5, 2));
    let mut c = Array2::<f32>::zeros((3, 2));
    let err = tapeless::gemm(1.0, a.view(), b.view(), 0.0, &mut c.view_mut()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gemm: right operand has shape [5, 2], expected [4, N]"
    );
}

#[test]
fn linear_rejects_wrong_input_features_and_writes_nothing() {
    let x = Array2::<f32>::zeros((64, 1600));
    let w = Array2::<f32>::zeros((128, 1568));
    let mut y = Array2::<f32>::from_elem((64, 128), 7.0);
    let err = tapeless::linear_forward(x.view(), w.view(), None, Activation::ReLU, y.view_mut())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Linear: input has shape [64, 1600], expected [N, 1568]"
    );
    assert!(
        y.iter().all(|&v| v == 7.0),
        "output was written before the error"
    );
    assert_eq!(
        err.in_layer("fc1").to_string(),
        "fc1: input has shape [64, 1600], expected [N, 1568]"
    );
}

#[test]
fn linear_backward_rejects_wrong_gradient_shape_and_leaves_gradients() {
    let x = Array2::<f64>::ones((2, 3));
    let w = Array2::<f64>::ones((4, 3));
    let y = Array2::<f64>::ones((2, 4));
    let mut dy = Array2::<f64>::ones((2, 5));
    let mut dw = Array2::<f64>::from_elem((4, 3), 1.5);
    let mut db = Array1::<f64>::from_elem(4, 2.5);
    let err = tapeless::linear_backward(
        x.view(),
        w.view(),
        Activation::Identity,
        y.view(),
        dy.view_mut(),
        dw.view_mut(),
        Some(db.view_mut()),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Shape { .. }));
    assert_eq!(
        err.to_string(),
        "Linear: output gradient has shape [2, 5], expected [2, 4]"
    );
    assert!(dw.iter().all(|&v| v == 1.5) && db.iter().all(|&v| v == 2.5));
}

#[test]
fn conv2d_rejects_wrong_channels_and_a_window_larger_than_the_input() {
    let window = Window2d::new((3, 3));
    let w = Array4::<f32>::zeros((8, 3, 3, 3));
    let x = Array4::<f32>::zeros((2, 1, 28, 28));
    let mut cols = Array3::<f32>::zeros((2, 27, 26 * 26));
    let mut y = Array4::<f32>::zeros((2, 8, 26, 26));
    let err = tapeless::conv2d_forward(
        x.view(),
        w.view(),
        None,
        &window,
        Activation::Identity,
        cols.view_mut(),
        y.view_mut(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Conv2d: input has shape [2, 1, 28, 28], expected [N, 3, N, N]"
    );

    let tiny = Array4::<f32>::zeros((2, 3, 2, 2));
    let err = tapeless::conv2d_forward(
        tiny.view(),
        w.view(),
        None,
        &window,
        Activation::Identity,
        cols.view_mut(),
        y.view_mut(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Conv2d: a 3x3 window (dilation 1x1) does not fit in the 2x2 input padded by 0x0"
    );
}

#[test]
fn pooling_rejects_padding_over_half_the_kernel() {
    let window = Window2d::new((2, 2)).stride((2, 2)).padding((2, 2));
    let x = Array4::<f32>::zeros((1, 1, 4, 4));
    let mut y = Array4::<f32>::zeros((1, 1, 4, 4));
    let err = tapeless::avg_pool2d_forward(x.view(), &window, y.view_mut()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "AvgPool2d: padding 2x2 must be at most half the 2x2 kernel"
    );
}

#[test]
fn window_output_size_is_pytorchs_formula() {
    // floor((H + 2p − d(k−1) − 1)/s) + 1 by hand: (13 + 2 − 4 − 1)/2 + 1 = 6, (11 + 2 − 4 − 1)/2 + 1 = 5.
    let w = Window2d::new((3, 3))
        .stride((2, 2))
        .padding((1, 1))
        .dilation((2, 2));
    assert_eq!(w.output_size((13, 11)), Some((6, 5)));
    assert_eq!(Window2d::new((5, 5)).output_size((4, 9)), None);
    assert_eq!(
        Window2d::new((2, 2)).stride((2, 2)).output_size((7, 7)),
        Some((3, 3))
    );
}

#[test]
fn cross_entropy_rejects_bad_targets_and_writes_no_gradient() {
    let logits = Array2::<f32>::zeros((3, 10));
    let mut grad = Array2::<f32>::from_elem((3, 10), 9.0);
    let err = tapeless::cross_entropy(
        logits.view(),
        Array1::from(vec![1usize, 10, 2]).view(),
        Reduction::Mean,
        Some(grad.view_mut()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CrossEntropy: target class 10 of sample 1 is out of range for 10 classes"
    );
    let err = tapeless::cross_entropy(
        logits.view(),
        Array1::from(vec![1usize, 2]).view(),
        Reduction::Mean,
        Some(grad.view_mut()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CrossEntropy: target has shape [2], expected [3]"
    );
    assert!(grad.iter().all(|&v| v == 9.0));
}

#[test]
fn leaky_relu_rejects_a_negative_slope() {
    let err = Activation::LeakyReLU(-0.1).validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "LeakyReLU: negative slope must be finite and >= 0, got -0.1"
    );
}

#[test]
fn losses_stay_finite_for_huge_logits() {
    // Hand-derived: for logits [1e4, -1e4] and class 0, the loss is log(1 + e^-2e4) = 0 to f32.
    let logits = Array2::from_shape_vec((1, 2), vec![1e4f32, -1e4]).unwrap();
    let ce = tapeless::cross_entropy(
        logits.view(),
        Array1::from(vec![1usize]).view(),
        Reduction::Sum,
        None,
    )
    .unwrap();
    assert_eq!(ce, 2e4);
    let x = Array1::from(vec![1e4f32, -1e4]);
    let t = Array1::from(vec![0.0f32, 1.0]);
    let bce = tapeless::bce_with_logits(x.view(), t.view(), Reduction::Sum, None).unwrap();
    assert_eq!(bce, 2e4);
}
