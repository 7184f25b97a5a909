//! RMSprop, optionally centered and with momentum: `torch.optim.RMSprop` (its
//! `maximize = False` form).
//!
//! With learning rate γ, smoothing constant α, ε, weight decay λ and momentum μ, step t of every
//! parameter θ with gradient g does (all buffers start at zero):
//!
//! ```text
//! g ← g + λ θ                               if λ ≠ 0
//! v_t ← α v_{t−1} + (1 − α) g²
//! ṽ ← v_t
//! if centered:
//!     ḡ_t ← ḡ_{t−1} + (1 − α)(g − ḡ_{t−1})   (a lerp: α ḡ_{t−1} + (1 − α) g)
//!     ṽ ← ṽ − ḡ_t²
//! if μ > 0:
//!     b_t ← μ b_{t−1} + g / (√ṽ + ε)
//!     θ ← θ − γ b_t
//! else:
//!     θ ← θ − γ g / (√ṽ + ε)
//! ```
//!
//! The buffers are `square_avg` (v), `momentum_buffer` (b, if μ > 0) and `grad_avg` (ḡ, if
//! centered), each `"<buffer>/<parameter>"` in [`Optimizer::state`]. Defaults are PyTorch's:
//! γ = 10⁻², α = 0.99, ε = 10⁻⁸, λ = 0, μ = 0, not centered.

use ndarray::Zip;

use crate::element::Float;
use crate::error::Result;
use crate::network::{Network, ParamMut};

use super::buffers::{take, Buffers, Lerp};
use super::{Optimizer, OptimizerState};

/// RMSprop: `RmsProp::new(1e-2).centered(true).momentum(0.9)`. See the
/// [module documentation](self) for the update.
#[derive(Clone, Debug)]
pub struct RmsProp<T = f32> {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    buffers: Buffers<T>,
}

impl<T: Float> Default for RmsProp<T> {
    /// PyTorch's defaults, learning rate 10⁻² included.
    fn default() -> Self {
        RmsProp::new(1e-2)
    }
}

impl<T: Float> RmsProp<T> {
    /// RMSprop with learning rate `lr` (PyTorch's default is 1e-2) and the other defaults.
    ///
    /// # Panics
    /// If `lr < 0`, as PyTorch raises.
    pub fn new(lr: f64) -> Self {
        assert!(lr >= 0.0, "RmsProp: invalid learning rate {lr}");
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            buffers: Buffers::new("RmsProp"),
        }
    }

    /// Smoothing constant α of the square average (default 0.99).
    pub fn alpha(mut self, alpha: f64) -> Self {
        assert!(alpha >= 0.0, "RmsProp: invalid alpha value {alpha}");
        self.alpha = alpha;
        self
    }

    /// ε added to the denominator (default 1e-8).
    pub fn eps(mut self, eps: f64) -> Self {
        assert!(eps >= 0.0, "RmsProp: invalid epsilon value {eps}");
        self.eps = eps;
        self
    }

    /// L2 penalty λ added to the gradient (default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        assert!(
            weight_decay >= 0.0,
            "RmsProp: invalid weight_decay value {weight_decay}"
        );
        self.weight_decay = weight_decay;
        self
    }

    /// Momentum factor μ (default 0, none).
    pub fn momentum(mut self, momentum: f64) -> Self {
        assert!(
            momentum >= 0.0,
            "RmsProp: invalid momentum value {momentum}"
        );
        self.momentum = momentum;
        self
    }

    /// Normalises by the estimated variance of the gradient instead of its second moment
    /// (default false).
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// PyTorch's buffers, in its order.
    fn kinds(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["square_avg"],
            (true, false) => &["square_avg", "momentum_buffer"],
            (false, true) => &["square_avg", "grad_avg"],
            (true, true) => &["square_avg", "momentum_buffer", "grad_avg"],
        }
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    /// # Panics
    /// If `net` is not the network of the previous steps (before changing any parameter).
    fn step<N: Network<Elem = T>>(&mut self, net: &mut N) {
        self.buffers.begin_step(net, self.kinds(), T::zero());
        let (with_momentum, centered) = (self.momentum > 0.0, self.centered);
        let decay = self.weight_decay != 0.0;
        let neg_lr = T::of(-self.lr);
        let lambda = T::of(self.weight_decay);
        let alpha = T::of(self.alpha);
        let one_minus_alpha = T::of(1.0 - self.alpha);
        let average = Lerp::<T>::new(1.0 - self.alpha);
        let eps = T::of(self.eps);
        let mu = T::of(self.momentum);
        let update = move |w: &mut T, g: T, v: &mut T, b: Option<&mut T>, avg: Option<&mut T>| {
            let g = if decay { g + lambda * *w } else { g };
            *v = *v * alpha + one_minus_alpha * g * g;
            let denominator = match avg {
                Some(a) => {
                    *a = average.apply(*a, g);
                    (*v - *a * *a).sqrt()
                }
                None => v.sqrt(),
            } + eps;
            match b {
                Some(b) => {
                    *b = *b * mu + g / denominator;
                    *w = *w + neg_lr * *b;
                }
                None => *w = *w + neg_lr * g / denominator,
            }
        };
        let buffers = &mut self.buffers;
        let mut i = 0;
        net.visit_parameters_mut(&mut |p: ParamMut<'_, T>| {
            let ParamMut {
                mut value, grad, ..
            } = p;
            let mut rest = buffers.param_mut(i);
            let v = take(&mut rest, true).expect("RmsProp keeps square_avg");
            let zip = Zip::from(&mut value).and(&grad).and(v);
            match (take(&mut rest, with_momentum), take(&mut rest, centered)) {
                (None, None) => zip.for_each(|w, &g, v| update(w, g, v, None, None)),
                (Some(b), None) => zip
                    .and(b)
                    .for_each(|w, &g, v, b| update(w, g, v, Some(b), None)),
                (None, Some(a)) => zip
                    .and(a)
                    .for_each(|w, &g, v, a| update(w, g, v, None, Some(a))),
                (Some(b), Some(a)) => zip
                    .and(b)
                    .and(a)
                    .for_each(|w, &g, v, b, a| update(w, g, v, Some(b), Some(a))),
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
