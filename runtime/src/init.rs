//! Seeded random numbers and parameter initialisation, so a seed gives the same network on
//! every machine.

use ndarray::{Array, Array1, ArrayViewMutD, ShapeBuilder};

use crate::element::Float;
use crate::network::Network;

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

/// The nonlinearity a Kaiming initialisation is tuned for, PyTorch's `calculate_gain`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    Linear,
    Sigmoid,
    Tanh,
    ReLU,
    /// With its negative slope.
    LeakyReLU(f64),
}

impl Nonlinearity {
    /// PyTorch's `nn.init.calculate_gain`: 1 (linear, sigmoid), 5/3 (tanh), √2 (ReLU),
    /// √(2 / (1 + slope²)) (LeakyReLU).
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::ReLU => 2f64.sqrt(),
            Nonlinearity::LeakyReLU(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        }
    }
}

/// Which fan a Kaiming initialisation preserves the variance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Forward pass (PyTorch's default).
    FanIn,
    /// Backward pass.
    FanOut,
}

/// An initialisation scheme, as in `torch.nn.init`. `fan_in` / `fan_out` are PyTorch's: for a
/// weight `[out, in, k...]`, `in·Πk` and `out·Πk`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// `U(−1/√fan_in, 1/√fan_in)`: what `nn.Linear` / `nn.Conv2d` do by default (for a bias,
    /// `fan_in` is that of the layer's weight).
    PyTorchDefault,
    /// `U(−a, a)`, `a = gain·√(6 / (fan_in + fan_out))`.
    XavierUniform {
        gain: f64,
    },
    /// `N(0, σ²)`, `σ = gain·√(2 / (fan_in + fan_out))`.
    XavierNormal {
        gain: f64,
    },
    /// `U(−b, b)`, `b = gain·√(3 / fan)`.
    KaimingUniform {
        nonlinearity: Nonlinearity,
        mode: FanMode,
    },
    /// `N(0, σ²)`, `σ = gain / √fan`.
    KaimingNormal {
        nonlinearity: Nonlinearity,
        mode: FanMode,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    Constant(f64),
    Zeros,
}

/// PyTorch's `_calculate_fan_in_and_fan_out` for a tensor of `shape` (rank ≥ 2; a rank-1 tensor
/// counts as `[len, 1]`).
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (1, *n),
        [out, inp, kernel @ ..] => {
            let receptive: usize = kernel.iter().product();
            (inp * receptive, out * receptive)
        }
    }
}

/// Overwrites `x` with draws from `init`, in row-major order. `fan_in` overrides the fan-in
/// derived from `x`'s shape (a bias takes its weight's).
pub fn fill<T: Float>(
    x: &mut ArrayViewMutD<'_, T>,
    init: Init,
    fan_in: Option<usize>,
    rng: &mut Rng,
) {
    let (shape_fan_in, fan_out) = fans(x.shape());
    let fan_in = fan_in.unwrap_or(shape_fan_in).max(1) as f64;
    let fan_out = fan_out.max(1) as f64;
    let fan = |mode: FanMode| match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    let mut draw_uniform = |bound: f64| x.mapv_inplace(|_| T::of(rng.uniform_in(-bound, bound)));
    match init {
        Init::PyTorchDefault => draw_uniform(1.0 / fan_in.sqrt()),
        Init::XavierUniform { gain } => draw_uniform(gain * (6.0 / (fan_in + fan_out)).sqrt()),
        Init::KaimingUniform { nonlinearity, mode } => {
            draw_uniform(nonlinearity.gain() * (3.0 / fan(mode)).sqrt())
        }
        Init::XavierNormal { gain } => {
            let std = gain * (2.0 / (fan_in + fan_out)).sqrt();
            x.mapv_inplace(|_| T::of(std * rng.normal()));
        }
        Init::KaimingNormal { nonlinearity, mode } => {
            let std = nonlinearity.gain() / fan(mode).sqrt();
            x.mapv_inplace(|_| T::of(std * rng.normal()));
        }
        Init::Uniform { low, high } => x.mapv_inplace(|_| T::of(rng.uniform_in(low, high))),
        Init::Normal { mean, std } => x.mapv_inplace(|_| T::of(mean + std * rng.normal())),
        Init::Constant(c) => x.fill(T::of(c)),
        Init::Zeros => x.fill(T::zero()),
    }
}

/// Re-initialises every parameter of `net` from `seed`: tensors named `*.weight` with
/// `weights`, `*.bias` with `biases` (a bias's fan-in is its layer's weight's, as in PyTorch),
/// e.g. `initialize(&mut net, Init::KaimingNormal { .. }, Init::Zeros, 0)`.
pub fn initialize<N: Network>(net: &mut N, weights: Init, biases: Init, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut layer_fan_in = None;
    net.visit_parameters_mut(&mut |mut p| {
        if p.name.ends_with(".bias") {
            fill(&mut p.value, biases, layer_fan_in, &mut rng);
        } else {
            layer_fan_in = Some(fans(p.value.shape()).0);
            fill(&mut p.value, weights, None, &mut rng);
        }
    });
}
