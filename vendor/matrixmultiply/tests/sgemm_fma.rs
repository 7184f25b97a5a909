//! sgemm (and a little dgemm) against a naive f64 reference, over many shapes, layouts and
//! alpha/beta. (tapeless patch 4: written for the 6x16 f32 FMA kernel, but runs whatever
//! kernel the host selects; build with `MMTEST_FEATURE=avx` to test the AVX kernel.)
//!
//! Integer valued data (small enough that every sum is exact in f32) is compared exactly;
//! fractional data is compared within the f32 rounding bound of a length-k dot product.

use matrixmultiply::{dgemm, sgemm};

/// A tiny LCG, so the test needs nothing beyond std.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    /// An integer in -4..=4
    fn int(&mut self) -> f32 {
        (self.next() % 9) as f32 - 4.
    }
    /// Uniform in [-1, 1)
    fn frac(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 23) as f32 * 2. - 1.
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// row major
    Row,
    /// column major
    Col,
    /// both strides > 1, gaps between rows and elements
    Strided,
    /// row major with rows in reverse order (negative row stride)
    NegRow,
    /// both strides negative (column major, reversed)
    NegBoth,
}

const LAYOUTS: [Layout; 5] =
    [Layout::Row, Layout::Col, Layout::Strided, Layout::NegRow, Layout::NegBoth];

/// A rows x cols view into a buffer: element (i, j) is `buf[origin + i * rs + j * cs]`.
struct View {
    buf: Vec<f32>,
    origin: isize,
    rs: isize,
    cs: isize,
    rows: usize,
    cols: usize,
}

/// Marks buffer elements outside a view; they must come out unchanged.
const PAD: f32 = 12345.5;

impl View {
    fn new(rows: usize, cols: usize, layout: Layout) -> View {
        let (r, c) = (rows as isize, cols as isize);
        let (len, origin, rs, cs) = match layout {
            Layout::Row => (r * c, 0, c, 1),
            Layout::Col => (r * c, 0, 1, r),
            Layout::Strided => (r * (2 * c + 3), 0, 2 * c + 3, 2),
            Layout::NegRow => (r * c, (r - 1) * c, -c, 1),
            Layout::NegBoth => (r * c, r * c - 1, -1, -r),
        };
        View { buf: vec![PAD; len as usize], origin, rs, cs, rows, cols }
    }

    fn index(&self, i: usize, j: usize) -> usize {
        (self.origin + i as isize * self.rs + j as isize * self.cs) as usize
    }

    fn get(&self, i: usize, j: usize) -> f32 {
        self.buf[self.index(i, j)]
    }

    fn set(&mut self, i: usize, j: usize, x: f32) {
        let ix = self.index(i, j);
        self.buf[ix] = x;
    }

    fn fill(&mut self, mut f: impl FnMut() -> f32) {
        for i in 0..self.rows {
            for j in 0..self.cols {
                self.set(i, j, f());
            }
        }
    }

    fn ptr(&self) -> *const f32 {
        self.buf.as_ptr().wrapping_offset(self.origin)
    }

    fn ptr_mut(&mut self) -> *mut f32 {
        self.buf.as_mut_ptr().wrapping_offset(self.origin)
    }

    /// For each buffer element, whether it lies in the view
    fn covered(&self) -> Vec<bool> {
        let mut v = vec![false; self.buf.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                v[self.index(i, j)] = true;
            }
        }
        v
    }
}

#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    k: usize,
    n: usize,
    la: Layout,
    lb: Layout,
    lc: Layout,
    alpha: f32,
    beta: f32,
    /// integer data compared exactly, else fractional data within a rounding bound
    exact: bool,
}

fn run(case: Case, rng: &mut Lcg) {
    let Case { m, k, n, la, lb, lc, alpha, beta, exact } = case;
    let mut a = View::new(m, k, la);
    let mut b = View::new(k, n, lb);
    let mut c = View::new(m, n, lc);
    let gen = |r: &mut Lcg| if exact { r.int() } else { r.frac() };
    a.fill(|| gen(rng));
    b.fill(|| gen(rng));
    if beta == 0. {
        // must be overwritten, never read
        c.fill(|| f32::NAN);
    } else {
        c.fill(|| gen(rng));
    }
    let c0: Vec<f32> = c.buf.clone();

    unsafe {
        sgemm(m, k, n, alpha, a.ptr(), a.rs, a.cs, b.ptr(), b.rs, b.cs, beta,
              c.ptr_mut(), c.rs, c.cs);
    }

    for i in 0..m {
        for j in 0..n {
            let mut sum = 0f64;
            let mut mag = 0f64;
            for l in 0..k {
                let p = a.get(i, l) as f64 * b.get(l, j) as f64;
                sum += p;
                mag += p.abs();
            }
            let (want, bound) = if beta == 0. {
                (alpha as f64 * sum, alpha.abs() as f64 * mag)
            } else {
                let cb = beta as f64 * c0[c.index(i, j)] as f64;
                (alpha as f64 * sum + cb, alpha.abs() as f64 * mag + cb.abs())
            };
            let got = c.get(i, j) as f64;
            let tol = if exact { 0. } else { (k as f64 + 3.) * f32::EPSILON as f64 * bound };
            assert!((got - want).abs() <= tol,
                    "{:?}: C[{}, {}] = {} but want {} (tol {})", case, i, j, got, want, tol);
        }
    }
    if lc == Layout::Strided {
        for (ix, covered) in c.covered().into_iter().enumerate() {
            if !covered {
                assert_eq!(c.buf[ix].to_bits(), PAD.to_bits(), "{:?}: wrote C's padding", case);
            }
        }
    }
}

const ALPHAS: [f32; 4] = [1., 0., 0.5, -2.];
const BETAS: [f32; 4] = [0., 1., 0.5, -2.];
const AB_LAYOUTS: [(Layout, Layout); 4] =
    [(Layout::Row, Layout::Row), (Layout::Row, Layout::Col),
     (Layout::Col, Layout::Row), (Layout::Col, Layout::Col)];

/// Every m, k, n in 1..=40, row major, α = 1, β = 0.
#[test]
fn cube_row_major() {
    let mut rng = Lcg(1);
    for m in 1..=40 {
        for k in 1..=40 {
            for n in 1..=40 {
                run(Case { m, k, n, la: Layout::Row, lb: Layout::Row, lc: Layout::Row,
                           alpha: 1., beta: 0., exact: true }, &mut rng);
            }
        }
    }
}

/// m, n in 1..=40 and some k, the four A/B layout combinations, C layouts and α, β rotating.
#[test]
fn sweep_layouts() {
    let mut rng = Lcg(2);
    let ks = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 31, 32, 33, 40];
    let mut rot = 0;
    for m in 1..=40 {
        for n in 1..=40 {
            for &k in &ks {
                for &(la, lb) in &AB_LAYOUTS {
                    rot += 1;
                    let lc = LAYOUTS[rot % LAYOUTS.len()];
                    let alpha = ALPHAS[rot / 5 % 4];
                    let beta = BETAS[rot / 3 % 4];
                    run(Case { m, k, n, la, lb, lc, alpha, beta, exact: rot % 2 == 0 },
                        &mut rng);
                }
            }
        }
    }
}

/// Every combination of layouts and α, β for a few shapes around the tile and block edges
/// (k > 256 crosses KC, m > 240 crosses MC).
#[test]
fn all_combinations() {
    let mut rng = Lcg(3);
    let shapes = [(1, 1, 1), (6, 16, 16), (7, 13, 19), (12, 32, 48), (5, 8, 15),
                  (17, 9, 33), (13, 300, 35), (80, 20, 40), (250, 20, 17)];
    for &(m, k, n) in &shapes {
        for &la in &LAYOUTS {
            for &lb in &LAYOUTS {
                for &lc in &LAYOUTS {
                    for &alpha in &ALPHAS {
                        for &beta in &BETAS {
                            for exact in [true, false] {
                                run(Case { m, k, n, la, lb, lc, alpha, beta, exact },
                                    &mut rng);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The shapes of tapeless' models and some degenerate ones, all four A/B layouts.
#[test]
fn big_shapes() {
    let mut rng = Lcg(4);
    let shapes = [(64, 784, 128), (64, 128, 784), (128, 64, 784), (256, 784, 1024),
                  (1000, 3, 7), (1, 1000, 1), (7, 1, 1000), (6, 25, 576), (16, 150, 64),
                  (150, 64, 16), (100, 1030, 70), (73, 257, 1030)];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        for (t, &(la, lb)) in AB_LAYOUTS.iter().enumerate() {
            let lc = if t == 3 { LAYOUTS[s % LAYOUTS.len()] } else { Layout::Row };
            run(Case { m, k, n, la, lb, lc, alpha: 1., beta: 0., exact: true }, &mut rng);
            run(Case { m, k, n, la, lb, lc, alpha: ALPHAS[t], beta: BETAS[(s + t) % 4],
                       exact: false }, &mut rng);
        }
    }
}

/// k = 0 (C ← βC) and m or n = 0 (nothing).
#[test]
fn empty_shapes() {
    let mut rng = Lcg(5);
    for &(m, k, n) in &[(3, 0, 5), (0, 4, 5), (3, 4, 0)] {
        for &beta in &BETAS {
            run(Case { m, k, n, la: Layout::Row, lb: Layout::Row, lc: Layout::Row,
                       alpha: 1., beta, exact: true }, &mut rng);
        }
    }
}

/// dgemm is untouched by the patch; a quick check that it still agrees with the reference
/// (it shares the blocking loops, packing buffer and masked kernel with sgemm).
#[test]
fn dgemm_still_works() {
    let mut rng = Lcg(6);
    for &(m, k, n) in &[(1, 1, 1), (7, 13, 19), (64, 300, 130), (9, 5, 1100)] {
        for &(row_a, row_b) in &[(true, true), (true, false), (false, true), (false, false)] {
            let a: Vec<f64> = (0..m * k).map(|_| rng.int() as f64).collect();
            let b: Vec<f64> = (0..k * n).map(|_| rng.int() as f64).collect();
            let (rsa, csa) = if row_a { (k as isize, 1) } else { (1, m as isize) };
            let (rsb, csb) = if row_b { (n as isize, 1) } else { (1, k as isize) };
            let mut c = vec![f64::NAN; m * n];
            unsafe {
                dgemm(m, k, n, 1., a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, 0.,
                      c.as_mut_ptr(), n as isize, 1);
            }
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|l| a[(i as isize * rsa + l as isize * csa) as usize]
                             * b[(l as isize * rsb + j as isize * csb) as usize])
                        .sum();
                    assert_eq!(c[i * n + j], want, "dgemm {}x{}x{} C[{}, {}]", m, k, n, i, j);
                }
            }
        }
    }
}
