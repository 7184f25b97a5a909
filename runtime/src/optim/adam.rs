//! Adam and AdamW, optionally AMSGrad: `torch.optim.Adam` and `torch.optim.AdamW` (their
//! `maximize = False`, non-capturable form). They differ only in the weight decay: Adam adds an
//! L2 penalty to the gradient, AdamW shrinks the parameter itself ("decoupled" weight decay).
//!
//! With learning rate γ, betas (β₁, β₂), ε and weight decay λ, step t (from 1) of every
//! parameter θ with gradient g does (all buffers start at zero):
//!
//! ```text
//! g ← g + λ θ                        Adam, if λ ≠ 0
//! θ ← θ (1 − γ λ)                    AdamW, if λ ≠ 0
//! m_t ← m_{t−1} + (1 − β₁)(g − m_{t−1})   (a lerp: β₁ m_{t−1} + (1 − β₁) g)
//! v_t ← β₂ v_{t−1} + (1 − β₂) g²
//! v̂ ← max(v̂_{t−1}, v_t) if amsgrad, else v_t
//! θ ← θ − (γ / (1 − β₁ᵗ)) m_t / (√v̂ / √(1 − β₂ᵗ) + ε)
//! ```
//!
//! that is θ ← θ − γ m̂ / (√(v̂ / (1 − β₂ᵗ)) + ε) with the bias-corrected m̂ = m_t / (1 − β₁ᵗ),
//! computed as PyTorch does: the step size γ / (1 − β₁ᵗ) and √(1 − β₂ᵗ) once per step.
//!
//! The buffers are `exp_avg` (m), `exp_avg_sq` (v) and, with AMSGrad, `max_exp_avg_sq` (the
//! running maximum v̂), each `"<buffer>/<parameter>"` in [`Optimizer::state`]. Defaults are
//! PyTorch's: γ = 10⁻³, β = (0.9, 0.999), ε = 10⁻⁸, no AMSGrad; λ = 0 for Adam, 10⁻² for
//! AdamW.

use ndarray::Zip;

use crate::element::Float;
use crate::error::Result;
use crate::network::{Network, ParamMut};

use super::buffers::{elements, Buffers, Lerp};
use super::{vectorised, Optimizer, OptimizerState};

/// The hyper-parameters, buffers and update that Adam and AdamW share.
#[derive(Clone, Debug)]
struct AdamCore<T> {
    name: &'static str,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    /// AdamW's weight decay (on the parameter) rather than Adam's (on the gradient).
    decoupled: bool,
    buffers: Buffers<T>,
}

impl<T: Float> AdamCore<T> {
    fn new(name: &'static str, lr: f64, weight_decay: f64, decoupled: bool) -> Self {
        assert!(lr >= 0.0, "{name}: invalid learning rate {lr}");
        AdamCore {
            name,
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay,
            amsgrad: false,
            decoupled,
            buffers: Buffers::new(name),
        }
    }

    fn betas(&mut self, beta1: f64, beta2: f64) {
        let name = self.name;
        assert!(
            (0.0..1.0).contains(&beta1),
            "{name}: invalid beta parameter at index 0: {beta1}"
        );
        assert!(
            (0.0..1.0).contains(&beta2),
            "{name}: invalid beta parameter at index 1: {beta2}"
        );
        self.betas = (beta1, beta2);
    }

    fn eps(&mut self, eps: f64) {
        assert!(eps >= 0.0, "{}: invalid epsilon value {eps}", self.name);
        self.eps = eps;
    }

    fn weight_decay(&mut self, weight_decay: f64) {
        assert!(
            weight_decay >= 0.0,
            "{}: invalid weight_decay value {weight_decay}",
            self.name
        );
        self.weight_decay = weight_decay;
    }

    fn kinds(&self) -> &'static [&'static str] {
        if self.amsgrad {
            &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
        } else {
            &["exp_avg", "exp_avg_sq"]
        }
    }

    fn step<N: Network<Elem = T>>(&mut self, net: &mut N) {
        self.buffers.begin_step(net, self.kinds(), T::zero());
        let t = self.buffers.steps() as f64;
        let (beta1, beta2) = self.betas;
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        let neg_step_size = T::of(-(self.lr / bias_correction1));
        let bias_correction2_sqrt = T::of(bias_correction2.powf(0.5));
        let first_moment = Lerp::<T>::new(1.0 - beta1);
        let beta2_t = T::of(beta2);
        let one_minus_beta2 = T::of(1.0 - beta2);
        let eps = T::of(self.eps);
        let l2 = !self.decoupled && self.weight_decay != 0.0;
        let lambda = T::of(self.weight_decay);
        let shrink = self.decoupled && self.weight_decay != 0.0;
        let shrink_factor = T::of(1.0 - self.lr * self.weight_decay);
        let update = move |w: &mut T, g: T, m: &mut T, v: &mut T, v_max: Option<&mut T>| {
            let g = if l2 { g + lambda * *w } else { g };
            if shrink {
                *w = *w * shrink_factor;
            }
            *m = first_moment.apply(*m, g);
            *v = *v * beta2_t + one_minus_beta2 * g * g;
            let v_hat = match v_max {
                Some(v_max) => {
                    *v_max = maximum(*v_max, *v);
                    *v_max
                }
                None => *v,
            };
            let denominator = v_hat.sqrt() / bias_correction2_sqrt + eps;
            *w = *w + neg_step_size * *m / denominator;
        };
        let buffers = &mut self.buffers;
        let mut i = 0;
        net.visit_parameters_mut(&mut |p: ParamMut<'_, T>| {
            let ParamMut {
                mut value, grad, ..
            } = p;
            let slices = (value.as_slice_mut(), grad.as_slice());
            match (buffers.param_mut(i), slices) {
                ([m, v], (Some(w), Some(g))) => {
                    let (m, v) = (elements(m), elements(v));
                    vectorised(|| {
                        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                            update(w, g, m, v, None);
                        }
                    });
                }
                ([m, v], _) => Zip::from(&mut value)
                    .and(&grad)
                    .and(m)
                    .and(v)
                    .for_each(|w, &g, m, v| update(w, g, m, v, None)),
                ([m, v, v_max], _) => Zip::from(&mut value)
                    .and(&grad)
                    .and(m)
                    .and(v)
                    .and(v_max)
                    .for_each(|w, &g, m, v, v_max| update(w, g, m, v, Some(v_max))),
                (_, _) => unreachable!("Adam keeps two or three buffers per parameter"),
            }
            i += 1;
        });
    }
}

/// `torch.maximum`: the larger, or NaN if either is NaN.
#[inline(always)]
fn maximum<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || b.is_nan() {
        T::nan()
    } else if b > a {
        b
    } else {
        a
    }
}

/// Defines `Adam` and `AdamW`: the same builders and `Optimizer` impl over [`AdamCore`].
macro_rules! adam_family {
    ($(#[$doc:meta])* $name:ident, weight_decay = $weight_decay:literal, decoupled = $decoupled:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<T = f32> {
            core: AdamCore<T>,
        }

        impl<T: Float> Default for $name<T> {
            /// PyTorch's defaults, learning rate 10⁻³ included.
            fn default() -> Self {
                $name::new(1e-3)
            }
        }

        impl<T: Float> $name<T> {
            #[doc = concat!(
                "`", stringify!($name), "` with learning rate `lr` (PyTorch's default is ",
                "1e-3), betas (0.9, 0.999), ε = 1e-8, weight decay ", stringify!($weight_decay),
                ", no AMSGrad.\n\n# Panics\nIf `lr < 0`, as PyTorch raises.",
            )]
            pub fn new(lr: f64) -> Self {
                $name {
                    core: AdamCore::new(stringify!($name), lr, $weight_decay, $decoupled),
                }
            }

            /// Decay rates (β₁, β₂) of the first and second moment averages, each in [0, 1)
            /// (default (0.9, 0.999)).
            pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
                self.core.betas(beta1, beta2);
                self
            }

            /// ε added to the denominator (default 1e-8).
            pub fn eps(mut self, eps: f64) -> Self {
                self.core.eps(eps);
                self
            }

            #[doc = concat!(
                "Weight decay λ (default ", stringify!($weight_decay), "): ",
                "an L2 penalty added to the gradient in Adam, a shrinking θ ← θ (1 − γλ) ",
                "of the parameter itself in AdamW."
            )]
            pub fn weight_decay(mut self, weight_decay: f64) -> Self {
                self.core.weight_decay(weight_decay);
                self
            }

            /// AMSGrad (default false): normalise by the running maximum of the second
            /// moment average.
            pub fn amsgrad(mut self, amsgrad: bool) -> Self {
                self.core.amsgrad = amsgrad;
                self
            }
        }

        impl<T: Float> Optimizer<T> for $name<T> {
            /// # Panics
            /// If `net` is not the network of the previous steps (before changing any
            /// parameter).
            fn step<N: Network<Elem = T>>(&mut self, net: &mut N) {
                self.core.step(net);
            }

            fn lr(&self) -> f64 {
                self.core.lr
            }

            fn set_lr(&mut self, lr: f64) {
                self.core.lr = lr;
            }

            fn state(&self) -> OptimizerState<T> {
                self.core.buffers.state()
            }

            fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
                let kinds = self.core.kinds();
                self.core.buffers.load(state, kinds)
            }
        }
    };
}

adam_family!(
    /// Adam (Kingma & Ba), with an L2 penalty as weight decay: `Adam::new(1e-3)`. See the
    /// [module documentation](self) for the update.
    Adam,
    weight_decay = 0.0,
    decoupled = false
);

adam_family!(
    /// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, 10⁻² by default:
    /// `AdamW::new(1e-3).weight_decay(0.05)`. See the [module documentation](self) for the
    /// update.
    AdamW,
    weight_decay = 1e-2,
    decoupled = true
);
