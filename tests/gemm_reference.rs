//! `tapeless::gemm` against a naive f64 reference: shapes around the edges of every path a
//! product can take (the small-GEMM loops, matrixmultiply's 6x16 AVX2/FMA kernel and its
//! partial tiles, its KC/MC blocking, the split over threads), every layout of every operand
//! (row and column major, strided, reversed), and `alpha`/`beta` including `beta = 0` over a
//! NaN-filled output.
//!
//! Integer data (every sum exact in f32) is compared exactly; fractional data within the f32
//! rounding bound of a length-`k` dot product.

use tapeless::init::Rng;
use tapeless::ndarray::{s, Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    Row,
    Col,
    /// Every second row and every third column of a larger array.
    Strided,
    /// Rows and columns reversed (negative strides).
    Reversed,
}

const LAYOUTS: [Layout; 4] = [Layout::Row, Layout::Col, Layout::Strided, Layout::Reversed];

/// A `rows x cols` operand in `layout`, over storage of its own.
struct Operand {
    storage: Array2<f32>,
    layout: Layout,
}

impl Operand {
    fn new(rows: usize, cols: usize, layout: Layout, mut fill: impl FnMut() -> f32) -> Self {
        let storage = match layout {
            Layout::Row | Layout::Reversed => Array2::from_shape_fn((rows, cols), |_| fill()),
            Layout::Col => Array2::from_shape_fn((rows, cols).f(), |_| fill()),
            Layout::Strided => Array2::from_shape_fn((2 * rows, 3 * cols), |_| fill()),
        };
        Operand { storage, layout }
    }

    fn view(&self) -> ArrayView2<'_, f32> {
        match self.layout {
            Layout::Row | Layout::Col => self.storage.view(),
            Layout::Strided => self.storage.slice(s![..;2, ..;3]),
            Layout::Reversed => self.storage.slice(s![..;-1, ..;-1]),
        }
    }

    fn view_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        match self.layout {
            Layout::Row | Layout::Col => self.storage.view_mut(),
            Layout::Strided => self.storage.slice_mut(s![..;2, ..;3]),
            Layout::Reversed => self.storage.slice_mut(s![..;-1, ..;-1]),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    k: usize,
    n: usize,
    layouts: [Layout; 3],
    alpha: f32,
    beta: f32,
    exact: bool,
}

fn check(case: Case, rng: &mut Rng) {
    let Case {
        m,
        k,
        n,
        layouts: [la, lb, lc],
        alpha,
        beta,
        exact,
    } = case;
    let mut value = || {
        if exact {
            rng.below(9) as f32 - 4.0
        } else {
            rng.uniform_in(-1.0, 1.0) as f32
        }
    };
    let a = Operand::new(m, k, la, &mut value);
    let b = Operand::new(k, n, lb, &mut value);
    let mut c = Operand::new(m, n, lc, &mut value);
    if beta == 0.0 {
        // Overwritten, never read: a NaN must not leak.
        c.view_mut().fill(f32::NAN);
    }
    let c0 = c.view().to_owned();
    // Marks the storage outside a strided view, which must come out untouched.
    let outside = c.storage.clone();
    tapeless::gemm(alpha, a.view(), b.view(), beta, &mut c.view_mut()).unwrap();
    let (a, b, got) = (a.view(), b.view(), c.view());
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut magnitude) = (0f64, 0f64);
            for l in 0..k {
                let p = f64::from(a[[i, l]]) * f64::from(b[[l, j]]);
                sum += p;
                magnitude += p.abs();
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(c0[[i, j]])
            };
            let want = f64::from(alpha) * sum + old;
            let bound = f64::from(alpha.abs()) * magnitude + old.abs();
            let tol = if exact {
                0.0
            } else {
                (k as f64 + 3.0) * f64::from(f32::EPSILON) * bound
            };
            let got = f64::from(got[[i, j]]);
            assert!(
                (got - want).abs() <= tol,
                "{case:?}: C[{i}, {j}] = {got}, expected {want} (tolerance {tol})"
            );
        }
    }
    if lc == Layout::Strided {
        for ((r, col), &v) in c.storage.indexed_iter() {
            if r % 2 != 0 || col % 3 != 0 {
                assert_eq!(
                    v.to_bits(),
                    outside[[r, col]].to_bits(),
                    "{case:?}: wrote outside C"
                );
            }
        }
    }
}

/// Every `m`, `n` up to 20 and `k` on both sides of the small-GEMM threshold, row major.
#[test]
fn every_small_shape() {
    let mut rng = Rng::new(1);
    for m in 1..=20 {
        for n in 1..=20 {
            for k in [1, 2, 5, 16, 17, 40] {
                let layouts = [Layout::Row; 3];
                let (alpha, beta, exact) = (1.0, 0.0, true);
                check(
                    Case {
                        m,
                        k,
                        n,
                        layouts,
                        alpha,
                        beta,
                        exact,
                    },
                    &mut rng,
                );
            }
        }
    }
}

/// Shapes around the 6x16 tiles and the KC = 256 / MC = 240 blocks, in every layout of each
/// operand, with `alpha` and `beta` rotating.
#[test]
fn every_layout_around_tile_and_block_edges() {
    let mut rng = Rng::new(2);
    let shapes = [
        (1, 1, 1),
        (6, 16, 16),
        (7, 13, 33),
        (12, 32, 48),
        (5, 300, 15),
        (37, 9, 70),
        (245, 20, 17),
        (13, 257, 35),
        // Thin outputs, which the small-product loops compute as their transpose.
        (16, 32, 2),
        (24, 40, 1),
    ];
    let scalars = [(1.0, 0.0), (1.0, 1.0), (0.5, -2.0), (-2.0, 0.5), (0.3, 0.7)];
    let mut turn = 0;
    for (m, k, n) in shapes {
        for la in LAYOUTS {
            for lb in LAYOUTS {
                for lc in LAYOUTS {
                    turn += 1;
                    let (alpha, beta) = scalars[turn % scalars.len()];
                    let layouts = [la, lb, lc];
                    // Integer data is exact only with alpha and beta multiples of 1/4.
                    let dyadic = (alpha * 4.0f32).fract() == 0.0 && (beta * 4.0f32).fract() == 0.0;
                    for exact in [true, false].into_iter().filter(|&e| dyadic || !e) {
                        check(
                            Case {
                                m,
                                k,
                                n,
                                layouts,
                                alpha,
                                beta,
                                exact,
                            },
                            &mut rng,
                        );
                    }
                }
            }
        }
    }
}

/// The products of the benchmark networks and of their gradients (large enough to be split
/// over threads where there are several), with the operand layouts a Linear layer uses.
#[test]
fn network_sized_products() {
    let mut rng = Rng::new(3);
    use Layout::{Col, Row};
    let cases = [
        // x Wᵀ, dYᵀ X, dY W for Linear(784, 128) at batch 64.
        (64, 784, 128, [Row, Col, Row]),
        (128, 64, 784, [Col, Row, Row]),
        (64, 128, 784, [Row, Row, Row]),
        // Linear(784, 1024) at batch 256, and a product longer than KC on every side.
        (256, 784, 1024, [Row, Col, Row]),
        (100, 1030, 70, [Col, Col, Row]),
        // A convolution's weight GEMM and its weight gradient.
        (16, 150, 196, [Row, Row, Row]),
        (16, 196, 150, [Row, Col, Row]),
    ];
    for (m, k, n, layouts) in cases {
        for (alpha, beta, exact) in [(1.0, 0.0, true), (1.0, 1.0, false)] {
            check(
                Case {
                    m,
                    k,
                    n,
                    layouts,
                    alpha,
                    beta,
                    exact,
                },
                &mut rng,
            );
        }
    }
}

/// `k = 0` scales C by `beta`; an empty C is left alone.
#[test]
fn empty_products() {
    let mut rng = Rng::new(4);
    for (m, k, n) in [(3, 0, 5), (0, 4, 5), (3, 4, 0)] {
        for beta in [0.0, 1.0, -2.0] {
            let layouts = [Layout::Row; 3];
            check(
                Case {
                    m,
                    k,
                    n,
                    layouts,
                    alpha: 1.0,
                    beta,
                    exact: true,
                },
                &mut rng,
            );
        }
    }
}
