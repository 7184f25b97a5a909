//! Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov) and weight
//! decay: `torch.optim.SGD` (its `maximize = False` form).
//!
//! With learning rate γ, weight decay λ, momentum μ and dampening τ, step t (from 1) of every
//! parameter θ with gradient g does:
//!
//! ```text
//! g ← g + λ θ                      if λ ≠ 0
//! if μ ≠ 0:
//!     b_t ← g                      if t = 1 (the buffer starts as the gradient, undamped)
//!     b_t ← μ b_{t−1} + (1 − τ) g  if t > 1
//!     g ← g + μ b_t                if nesterov
//!     g ← b_t                      otherwise
//! θ ← θ − γ g
//! ```
//!
//! The buffer `b` is `momentum_buffer/<parameter>` in [`Optimizer::state`]; without momentum
//! SGD keeps no buffer. Nesterov momentum needs μ > 0 and τ = 0, as in PyTorch.

use ndarray::Zip;

use crate::element::Float;
use crate::error::Result;
use crate::network::{Network, ParamMut};

use super::buffers::{elements, Buffers};
use super::{vectorised, Optimizer, OptimizerState};

/// Stochastic gradient descent: `Sgd::new(lr).momentum(0.9).nesterov(true)`. See the
/// [module documentation](self) for the update.
#[derive(Clone, Debug)]
pub struct Sgd<T = f32> {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    buffers: Buffers<T>,
}

impl<T: Float> Default for Sgd<T> {
    /// PyTorch's defaults: learning rate 10⁻³, nothing else.
    fn default() -> Self {
        Sgd::new(1e-3)
    }
}

impl<T: Float> Sgd<T> {
    /// Plain SGD with learning rate `lr` (no momentum, no dampening, no weight decay).
    ///
    /// # Panics
    /// If `lr < 0`, as PyTorch raises.
    pub fn new(lr: f64) -> Self {
        assert!(lr >= 0.0, "Sgd: invalid learning rate {lr}");
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            buffers: Buffers::new("Sgd"),
        }
    }

    /// Momentum factor μ (default 0, none).
    pub fn momentum(mut self, momentum: f64) -> Self {
        assert!(momentum >= 0.0, "Sgd: invalid momentum value {momentum}");
        self.momentum = momentum;
        self
    }

    /// Dampening τ of the momentum (default 0).
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Nesterov momentum (default false); needs a momentum and zero dampening.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// L2 penalty λ added to the gradient (default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        assert!(
            weight_decay >= 0.0,
            "Sgd: invalid weight_decay value {weight_decay}"
        );
        self.weight_decay = weight_decay;
        self
    }

    fn kinds(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    /// # Panics
    /// If Nesterov momentum is asked for without momentum or with dampening, or `net` is not
    /// the network of the previous steps (before changing any parameter).
    fn step<N: Network<Elem = T>>(&mut self, net: &mut N) {
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "Sgd: Nesterov momentum requires a momentum and zero dampening"
        );
        let first = self.buffers.begin_step(net, self.kinds(), T::zero());
        let decay = self.weight_decay != 0.0;
        let nesterov = self.nesterov;
        let neg_lr = T::of(-self.lr);
        let lambda = T::of(self.weight_decay);
        let mu = T::of(self.momentum);
        let undamped = T::of(1.0 - self.dampening);
        let buffers = &mut self.buffers;
        let mut i = 0;
        net.visit_parameters_mut(&mut |p: ParamMut<'_, T>| {
            let ParamMut {
                mut value, grad, ..
            } = p;
            let plain = |w: &mut T, g: T| {
                let g = if decay { g + lambda * *w } else { g };
                *w = *w + neg_lr * g;
            };
            let with_momentum = |w: &mut T, g: T, b: &mut T| {
                let g = if decay { g + lambda * *w } else { g };
                *b = if first { g } else { *b * mu + undamped * g };
                let g = if nesterov { g + mu * *b } else { *b };
                *w = *w + neg_lr * g;
            };
            let slices = (value.as_slice_mut(), grad.as_slice());
            match (buffers.param_mut(i), slices) {
                ([], (Some(w), Some(g))) => vectorised(|| {
                    w.iter_mut().zip(g).for_each(|(w, &g)| plain(w, g));
                }),
                ([buf], (Some(w), Some(g))) => {
                    let b = elements(buf);
                    vectorised(|| {
                        for ((w, &g), b) in w.iter_mut().zip(g).zip(b) {
                            with_momentum(w, g, b);
                        }
                    });
                }
                ([], _) => Zip::from(&mut value)
                    .and(&grad)
                    .for_each(|w, &g| plain(w, g)),
                ([buf], _) => Zip::from(&mut value)
                    .and(&grad)
                    .and(buf)
                    .for_each(|w, &g, b| with_momentum(w, g, b)),
                (_, _) => unreachable!("Sgd keeps one buffer per parameter"),
            }
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
        let kinds = self.kinds();
        self.buffers.load(state, kinds)
    }
}
