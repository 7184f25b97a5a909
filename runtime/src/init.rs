//! Seeded random numbers and parameter initialisation, so a seed gives the same network on
//! every machine.

use ndarray::{Array, Array1, ShapeBuilder};

use crate::element::Float;

/// A small, portable generator (SplitMix64): the same seed gives the same stream on every
/// platform and in every release of tapeless, which `rand`'s default generators do not promise.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform_in(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln stays finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias worth measuring for n < 2³².
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

/// An array of `shape` with entries drawn from `U(−bound, bound)`, in row-major order.
pub fn uniform<T: Float, Sh: ShapeBuilder>(
    shape: Sh,
    bound: f64,
    rng: &mut Rng,
) -> Array<T, Sh::Dim> {
    Array::from_shape_simple_fn(shape, || T::of(rng.uniform_in(-bound, bound)))
}

/// PyTorch's default initialisation of `nn.Linear` and `nn.Conv2d`: the weight from
/// `kaiming_uniform_(a = √5)`, which is `U(−1/√fan_in, 1/√fan_in)`, and the bias from the same
/// interval, where `fan_in` is `IN` (Linear) or `CIN·KH·KW` (Conv2d). Draws the weight, then
/// the bias.
pub fn pytorch_default<T: Float, Sh: ShapeBuilder>(
    weight_shape: Sh,
    bias_len: Option<usize>,
    fan_in: usize,
    rng: &mut Rng,
) -> (Array<T, Sh::Dim>, Option<Array1<T>>) {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    let weight = uniform(weight_shape, bound, rng);
    let bias = bias_len.map(|len| uniform(len, bound, rng));
    (weight, bias)
}
