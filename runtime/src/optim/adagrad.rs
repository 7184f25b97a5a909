//! Adagrad: `torch.optim.Adagrad` (its `maximize = False`, dense-gradient form).
//!
//! With learning rate γ, learning-rate decay η, weight decay λ, initial accumulator value τ and
//! ε, step t (from 1) of every parameter θ with gradient g does:
//!
//! ```text
//! γ̃ ← γ / (1 + (t − 1) η)
//! g ← g + λ θ                   if λ ≠ 0
//! s_t ← s_{t−1} + g²            (s_0 = τ)
//! θ ← θ − γ̃ g / (√s_t + ε)
//! ```
//!
//! The accumulator `s` is `sum/<parameter>` in [`Optimizer::state`]. Defaults are PyTorch's:
//! γ = 10⁻², η = 0, λ = 0, τ = 0, ε = 10⁻¹⁰.

use ndarray::Zip;

use crate::element::Float;
use crate::error::Result;
use crate::network::{Network, ParamMut};

use super::buffers::Buffers;
use super::{Optimizer, OptimizerState};

/// Adagrad: `Adagrad::new(1e-2).lr_decay(1e-3)`. See the [module documentation](self) for the
/// update.
#[derive(Clone, Debug)]
pub struct Adagrad<T = f32> {
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
    buffers: Buffers<T>,
}

impl<T: Float> Default for Adagrad<T> {
    /// PyTorch's defaults, learning rate 10⁻² included.
    fn default() -> Self {
        Adagrad::new(1e-2)
    }
}

const KINDS: &[&str] = &["sum"];

impl<T: Float> Adagrad<T> {
    /// Adagrad with learning rate `lr` (PyTorch's default is 1e-2) and the other defaults.
    ///
    /// # Panics
    /// If `lr < 0`, as PyTorch raises.
    pub fn new(lr: f64) -> Self {
        assert!(lr >= 0.0, "Adagrad: invalid learning rate {lr}");
        Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            buffers: Buffers::new("Adagrad"),
        }
    }

    /// Learning-rate decay η (default 0): step t uses γ / (1 + (t − 1) η).
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        assert!(
            lr_decay >= 0.0,
            "Adagrad: invalid lr_decay value {lr_decay}"
        );
        self.lr_decay = lr_decay;
        self
    }

    /// L2 penalty λ added to the gradient (default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        assert!(
            weight_decay >= 0.0,
            "Adagrad: invalid weight_decay value {weight_decay}"
        );
        self.weight_decay = weight_decay;
        self
    }

    /// The value the sum of squared gradients starts from (default 0).
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        assert!(
            value >= 0.0,
            "Adagrad: invalid initial_accumulator_value {value}"
        );
        self.initial_accumulator_value = value;
        self
    }

    /// ε added to the denominator (default 1e-10).
    pub fn eps(mut self, eps: f64) -> Self {
        assert!(eps >= 0.0, "Adagrad: invalid epsilon value {eps}");
        self.eps = eps;
        self
    }
}

impl<T: Float> Optimizer<T> for Adagrad<T> {
    /// # Panics
    /// If `net` is not the network of the previous steps (before changing any parameter).
    fn step<N: Network<Elem = T>>(&mut self, net: &mut N) {
        let init = T::of(self.initial_accumulator_value);
        self.buffers.begin_step(net, KINDS, init);
        let t = self.buffers.steps() as f64;
        let clr = self.lr / (1.0 + (t - 1.0) * self.lr_decay);
        let neg_clr = T::of(-clr);
        let decay = self.weight_decay != 0.0;
        let lambda = T::of(self.weight_decay);
        let eps = T::of(self.eps);
        let buffers = &mut self.buffers;
        let mut i = 0;
        net.visit_parameters_mut(&mut |p: ParamMut<'_, T>| {
            let ParamMut {
                mut value, grad, ..
            } = p;
            let [sum] = buffers.param_mut(i) else {
                unreachable!("Adagrad keeps one buffer per parameter")
            };
            Zip::from(&mut value)
                .and(&grad)
                .and(sum)
                .for_each(|w, &g, s| {
                    let g = if decay { g + lambda * *w } else { g };
                    *s = *s + g * g;
                    *w = *w + neg_clr * g / (s.sqrt() + eps);
                });
            i += 1;
        });
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn state(&self) -> OptimizerState<T> {
        self.buffers.state()
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        self.buffers.load(state, KINDS)
    }
}
