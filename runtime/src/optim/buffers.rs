//! The per-parameter buffers every stateful optimizer keeps (momentum, running averages), and
//! their checkpoint form.
//!
//! An optimizer names the kinds of buffer it keeps (`["exp_avg", "exp_avg_sq"]`, PyTorch's
//! names). On its first step [`Buffers::begin_step`] allocates one array of each kind for every
//! parameter of the network, in the order of [`Network::visit_parameters`]; later steps reuse
//! them. The buffers of parameter `i` are [`Buffers::param_mut`]`(i)`, in the order of the
//! kinds. In an [`OptimizerState`] a buffer is named `"<kind>/<parameter>"`.

use ndarray::{ArrayD, Dimension, IxDyn};

use crate::element::Float;
use crate::error::{Error, Result, Shape};
use crate::network::Network;

use super::OptimizerState;

#[derive(Clone, Debug)]
pub(crate) struct Buffers<T> {
    /// The optimizer's name, for messages.
    optimizer: &'static str,
    /// The kinds of buffer, in their order within a parameter's slice.
    kinds: &'static [&'static str],
    /// Parameter names and shapes, in visiting order (empty until there are buffers).
    params: Vec<String>,
    shapes: Vec<IxDyn>,
    /// `arrays[i * kinds.len() + k]` is buffer `kinds[k]` of parameter `i`.
    arrays: Vec<ArrayD<T>>,
    steps: u64,
}

impl<T: Float> Buffers<T> {
    pub(crate) const fn new(optimizer: &'static str) -> Self {
        Buffers {
            optimizer,
            kinds: &[],
            params: Vec::new(),
            shapes: Vec::new(),
            arrays: Vec::new(),
            steps: 0,
        }
    }

    /// Whether there are buffers (allocated by a step, or loaded).
    fn allocated(&self) -> bool {
        !self.params.is_empty()
    }

    /// Counts a step of `net` and makes sure every parameter has one buffer of each kind,
    /// allocating them (filled with `init`) if there are none yet. Returns whether they were
    /// allocated now: PyTorch's "no state yet" (SGD's momentum buffer starts as the gradient).
    ///
    /// Allocates only when it allocates the buffers.
    ///
    /// # Panics
    /// If `net`'s parameters (names, shapes, order) are not those the buffers were made for,
    /// or the optimizer's kinds of buffer changed after they were allocated: either is a
    /// programming error, and it panics before any parameter changes.
    pub(crate) fn begin_step<N: Network<Elem = T>>(
        &mut self,
        net: &N,
        kinds: &'static [&'static str],
        init: T,
    ) -> bool {
        if kinds.is_empty() && !self.allocated() {
            self.steps += 1;
            return false;
        }
        if self.allocated() {
            assert!(
                self.kinds == kinds,
                "{}: its buffers were {:?} and are now {:?}: set hyper-parameters that change \
                 the buffers before the first step",
                self.optimizer,
                self.kinds,
                kinds
            );
            self.check_network(net);
            self.steps += 1;
            return false;
        }
        let (params, shapes, arrays) = (&mut self.params, &mut self.shapes, &mut self.arrays);
        net.visit_parameters(&mut |name, value, _| {
            params.push(name.to_owned());
            shapes.push(value.raw_dim());
            for _ in kinds {
                arrays.push(ArrayD::from_elem(value.raw_dim(), init));
            }
        });
        self.kinds = kinds;
        self.steps += 1;
        true
    }

    /// Panics unless `net`'s parameters are the buffers' (allocates nothing unless it panics).
    fn check_network<N: Network<Elem = T>>(&self, net: &N) {
        let mut i = 0;
        let mut mismatch: Option<(usize, &'static str, Shape)> = None;
        net.visit_parameters(&mut |name, value, _| {
            let fits = self
                .params
                .get(i)
                .is_some_and(|p| p == name && self.shapes[i].slice() == value.shape());
            if !fits && mismatch.is_none() {
                mismatch = Some((i, name, Shape::of(value.shape())));
            }
            i += 1;
        });
        if let Some((i, name, shape)) = mismatch {
            match self.params.get(i) {
                Some(p) => panic!(
                    "{}: step on another network: its parameter {i} is `{name}` {shape}, the \
                     optimizer's is `{p}` {}",
                    self.optimizer,
                    Shape::of(self.shapes[i].slice())
                ),
                None => panic!(
                    "{}: step on another network: its parameter {i} `{name}` {shape} is not \
                     one of the optimizer's {}",
                    self.optimizer,
                    self.params.len()
                ),
            }
        }
        assert!(
            i == self.params.len(),
            "{}: step on another network: it has {i} parameters, the optimizer's has {}",
            self.optimizer,
            self.params.len()
        );
    }

    /// Steps counted so far (the current step's number once `begin_step` ran).
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// The buffers of parameter `i` (visiting order), one per kind; empty without kinds.
    pub(crate) fn param_mut(&mut self, i: usize) -> &mut [ArrayD<T>] {
        let k = self.kinds.len();
        &mut self.arrays[i * k..(i + 1) * k]
    }

    /// Every buffer, named `"<kind>/<parameter>"`, parameter by parameter.
    pub(crate) fn state(&self) -> OptimizerState<T> {
        let k = self.kinds.len();
        let mut buffers = Vec::with_capacity(self.arrays.len());
        for (i, param) in self.params.iter().enumerate() {
            for (j, kind) in self.kinds.iter().enumerate() {
                buffers.push((format!("{kind}/{param}"), self.arrays[i * k + j].clone()));
            }
        }
        OptimizerState {
            steps: self.steps,
            buffers,
        }
    }

    /// Replaces the step count and every buffer with `state`'s, which must hold exactly one
    /// buffer of each of `kinds` per parameter, each of its parameter's shape. Before the
    /// first step (no buffers yet) the parameters are those the state names, in its order, and
    /// the next step checks them against the network. Changes nothing on error.
    pub(crate) fn load(
        &mut self,
        state: OptimizerState<T>,
        kinds: &'static [&'static str],
    ) -> Result<()> {
        let OptimizerState { steps, buffers } = state;
        let k = kinds.len();
        let allocated = self.allocated();
        let mut params: Vec<String> = if allocated {
            self.params.clone()
        } else {
            Vec::new()
        };
        let mut shapes: Vec<IxDyn> = if allocated {
            self.shapes.clone()
        } else {
            Vec::new()
        };
        let mut slots: Vec<Option<ArrayD<T>>> = vec![None; params.len() * k];
        for (name, array) in buffers {
            let known = name
                .split_once('/')
                .and_then(|(kind, param)| Some((kinds.iter().position(|&x| x == kind)?, param)));
            let Some((j, param)) = known else {
                return Err(self.error(format!(
                    "unexpected buffer `{name}`: this optimizer keeps {} per parameter, named \
                     \"<buffer>/<parameter>\"",
                    if kinds.is_empty() {
                        "no buffers".to_owned()
                    } else {
                        format!("{kinds:?}")
                    }
                )));
            };
            let i = match params.iter().position(|p| p == param) {
                Some(i) => i,
                None if allocated => {
                    return Err(self.error(format!(
                        "unexpected buffer `{name}`: the optimizer has no parameter `{param}`"
                    )))
                }
                None => {
                    params.push(param.to_owned());
                    shapes.push(array.raw_dim());
                    slots.resize(params.len() * k, None);
                    params.len() - 1
                }
            };
            if array.shape() != shapes[i].slice() {
                return Err(self.error(format!(
                    "buffer `{name}` has shape {}, expected {} (the shape of `{param}`)",
                    Shape::of(array.shape()),
                    Shape::of(shapes[i].slice())
                )));
            }
            if slots[i * k + j].is_some() {
                return Err(self.error(format!("buffer `{name}` appears twice")));
            }
            // Kept in standard layout, as allocated ones are: updates walk them as slices.
            slots[i * k + j] = Some(if array.is_standard_layout() {
                array
            } else {
                array.as_standard_layout().into_owned()
            });
        }
        if let Some(missing) = slots.iter().position(Option::is_none) {
            return Err(self.error(format!(
                "missing buffer `{}/{}`",
                kinds[missing % k],
                params[missing / k]
            )));
        }
        if params.is_empty() && !kinds.is_empty() && steps > 0 {
            return Err(self.error(format!(
                "the state counts {steps} steps but has none of the buffers {kinds:?}"
            )));
        }
        if !params.is_empty() {
            self.kinds = kinds;
        }
        self.params = params;
        self.shapes = shapes;
        self.arrays = slots.into_iter().map(Option::unwrap).collect();
        self.steps = steps;
        Ok(())
    }

    fn error(&self, message: String) -> Error {
        Error::OptimizerState {
            optimizer: self.optimizer.to_owned(),
            message,
        }
    }
}

/// A buffer's elements in logical order. Buffers are in standard layout (allocated so, and
/// normalised on load), so this never fails.
pub(crate) fn elements<T>(buffer: &mut ArrayD<T>) -> &mut [T] {
    buffer
        .as_slice_mut()
        .expect("optimizer buffers are in standard layout")
}

/// The next buffer of a parameter's slice if the optimizer keeps that kind (`present`).
pub(crate) fn take<'a, T>(rest: &mut &'a mut [T], present: bool) -> Option<&'a mut T> {
    if !present {
        return None;
    }
    let (first, tail) = std::mem::take(rest).split_first_mut()?;
    *rest = tail;
    Some(first)
}

/// PyTorch's `start.lerp_(end, weight)` with a scalar weight, rounded as its kernel rounds it:
/// `start + weight (end − start)` for `|weight| < 0.5`, else `end − (end − start)(1 − weight)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lerp<T> {
    weight: T,
    complement: T,
    small: bool,
}

impl<T: Float> Lerp<T> {
    pub(crate) fn new(weight: f64) -> Self {
        let weight = T::of(weight);
        Lerp {
            weight,
            complement: T::one() - weight,
            small: weight.abs() < T::of(0.5),
        }
    }

    #[inline(always)]
    pub(crate) fn apply(self, start: T, end: T) -> T {
        if self.small {
            start + self.weight * (end - start)
        } else {
            end - (end - start) * self.complement
        }
    }
}
