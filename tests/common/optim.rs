//! The optimizer fixtures of `tests/fixtures/make_optim_fixtures.py`: their hyper-parameters,
//! the optimizer they describe, and the training recipe they record.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use safetensors::SafeTensors;
use tapeless::ndarray::ArrayD;
use tapeless::{
    Adagrad, Adam, AdamW, Float, LrScheduler, Network, Optimizer, OptimizerState, RmsProp, Sgd,
    StepLR, Target,
};

use super::{fixture_dir, Fixture, FixtureFloat};

/// Every optimizer case (all files but the LR schedules), sorted by name; panics if none.
pub fn cases() -> Vec<String> {
    let dir = fixture_dir("optim");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "lr_schedules")
        .collect();
    names.sort();
    assert!(names.len() >= 10, "optimizer fixtures in {}", dir.display());
    names
}

pub fn fixture(name: &str) -> Fixture {
    Fixture::read(&fixture_dir("optim").join(format!("{name}.safetensors")))
}

/// A fixture's metadata, remembering which keys were read so that none is silently ignored.
pub struct Meta {
    case: String,
    map: HashMap<String, String>,
    used: RefCell<BTreeSet<String>>,
}

impl Meta {
    pub fn of(name: &str) -> Meta {
        let path = fixture_dir("optim").join(format!("{name}.safetensors"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("valid safetensors header");
        Meta {
            case: name.to_owned(),
            map: metadata.metadata().clone().unwrap_or_default(),
            used: RefCell::default(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.used.borrow_mut().insert(key.to_owned());
        self.map.get(key).map(String::as_str)
    }

    pub fn num(&self, key: &str) -> Option<f64> {
        self.get(key).map(|v| {
            v.parse()
                .unwrap_or_else(|e| panic!("{}: {key}={v}: {e}", self.case))
        })
    }

    pub fn list(&self, key: &str) -> Option<Vec<f64>> {
        self.get(key)
            .map(|v| v.split(',').map(|x| x.trim().parse().unwrap()).collect())
    }

    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v == "true")
    }

    /// Panics if a metadata key was never read (a hyper-parameter the test would ignore).
    pub fn all_used(&self) {
        let used = self.used.borrow();
        let unused: Vec<&String> = self.map.keys().filter(|k| !used.contains(*k)).collect();
        assert!(
            unused.is_empty(),
            "{}: unused metadata {unused:?}",
            self.case
        );
    }
}

/// Any of tapeless' optimizers, as one type.
#[derive(Clone, Debug)]
pub enum AnyOptimizer<T> {
    Sgd(Sgd<T>),
    RmsProp(RmsProp<T>),
    Adagrad(Adagrad<T>),
    Adam(Adam<T>),
    AdamW(AdamW<T>),
}

macro_rules! each {
    ($self:expr, $o:ident => $body:expr) => {
        match $self {
            AnyOptimizer::Sgd($o) => $body,
            AnyOptimizer::RmsProp($o) => $body,
            AnyOptimizer::Adagrad($o) => $body,
            AnyOptimizer::Adam($o) => $body,
            AnyOptimizer::AdamW($o) => $body,
        }
    };
}

impl<T: Float> Optimizer<T> for AnyOptimizer<T> {
    fn step<N: Network<Elem = T>>(&mut self, net: &mut N) {
        each!(self, o => o.step(net))
    }
    fn lr(&self) -> f64 {
        each!(self, o => o.lr())
    }
    fn set_lr(&mut self, lr: f64) {
        each!(self, o => o.set_lr(lr))
    }
    fn state(&self) -> OptimizerState<T> {
        each!(self, o => o.state())
    }
    fn load_state(&mut self, state: OptimizerState<T>) -> tapeless::Result<()> {
        each!(self, o => o.load_state(state))
    }
}

/// The optimizer the fixture describes: PyTorch's defaults except for the hyper-parameters
/// its metadata lists (so the plain cases test the defaults too).
pub fn optimizer<T: Float>(meta: &Meta) -> AnyOptimizer<T> {
    let lr = meta.num("lr");
    let opt = match meta.get("optimizer").expect("optimizer") {
        "SGD" => {
            let mut o = lr.map_or_else(Sgd::default, Sgd::new);
            if let Some(v) = meta.num("momentum") {
                o = o.momentum(v);
            }
            if let Some(v) = meta.num("dampening") {
                o = o.dampening(v);
            }
            if let Some(v) = meta.flag("nesterov") {
                o = o.nesterov(v);
            }
            if let Some(v) = meta.num("weight_decay") {
                o = o.weight_decay(v);
            }
            AnyOptimizer::Sgd(o)
        }
        "RMSprop" => {
            let mut o = lr.map_or_else(RmsProp::default, RmsProp::new);
            if let Some(v) = meta.num("alpha") {
                o = o.alpha(v);
            }
            if let Some(v) = meta.num("eps") {
                o = o.eps(v);
            }
            if let Some(v) = meta.num("weight_decay") {
                o = o.weight_decay(v);
            }
            if let Some(v) = meta.num("momentum") {
                o = o.momentum(v);
            }
            if let Some(v) = meta.flag("centered") {
                o = o.centered(v);
            }
            AnyOptimizer::RmsProp(o)
        }
        "Adagrad" => {
            let mut o = lr.map_or_else(Adagrad::default, Adagrad::new);
            if let Some(v) = meta.num("lr_decay") {
                o = o.lr_decay(v);
            }
            if let Some(v) = meta.num("weight_decay") {
                o = o.weight_decay(v);
            }
            if let Some(v) = meta.num("initial_accumulator_value") {
                o = o.initial_accumulator_value(v);
            }
            if let Some(v) = meta.num("eps") {
                o = o.eps(v);
            }
            AnyOptimizer::Adagrad(o)
        }
        "Adam" | "AdamW" => {
            let betas = meta.list("betas");
            let (eps, wd, amsgrad) = (
                meta.num("eps"),
                meta.num("weight_decay"),
                meta.flag("amsgrad"),
            );
            macro_rules! adam {
                ($ty:ident) => {{
                    let mut o = lr.map_or_else($ty::default, $ty::new);
                    if let Some(b) = &betas {
                        o = o.betas(b[0], b[1]);
                    }
                    if let Some(v) = eps {
                        o = o.eps(v);
                    }
                    if let Some(v) = wd {
                        o = o.weight_decay(v);
                    }
                    if let Some(v) = amsgrad {
                        o = o.amsgrad(v);
                    }
                    AnyOptimizer::$ty(o)
                }};
            }
            if meta.get("optimizer") == Some("Adam") {
                adam!(Adam)
            } else {
                adam!(AdamW)
            }
        }
        other => panic!("{}: unknown optimizer {other}", meta.case),
    };
    opt
}

/// The training recipe of a fixture: the batch, and how the learning rate changes.
pub struct Recipe<T> {
    pub x: ArrayD<T>,
    pub target: ArrayD<T>,
    pub steps: usize,
    /// The learning rate set before step k (1-based: `lrs[k - 1]`).
    pub lrs: Option<Vec<f64>>,
    /// A `StepLR(step_size, gamma)` stepped after every optimizer step.
    pub step_lr: Option<(u64, f64)>,
    /// PyTorch's step count in its state, where it keeps one.
    pub torch_step: Option<u64>,
}

impl<T: FixtureFloat> Recipe<T> {
    pub fn of(f: &Fixture, meta: &Meta) -> Recipe<T> {
        let step_lr = meta.get("scheduler").map(|s| {
            assert_eq!(s, "StepLR", "{}", f.name);
            (
                meta.num("step_size").unwrap() as u64,
                meta.num("gamma").unwrap(),
            )
        });
        Recipe {
            x: f.get("x"),
            target: f.get("target"),
            steps: meta.num("steps").expect("steps") as usize,
            lrs: meta.list("lrs"),
            step_lr,
            torch_step: meta.num("torch_step").map(|s| s as u64),
        }
    }

    /// The recipe's scheduler, made from `opt`'s current (base) learning rate.
    pub fn scheduler<O: Optimizer<T>>(&self, opt: &O) -> Option<StepLR> {
        self.step_lr
            .map(|(size, gamma)| StepLR::new(opt, size, gamma))
    }

    /// Step `k` (1-based) of the recipe: zero_grad, loss, backward, step, then the scheduler.
    pub fn step<N: Network<Elem = T>, O: Optimizer<T>>(
        &self,
        k: usize,
        net: &mut N,
        opt: &mut O,
        scheduler: &mut Option<StepLR>,
    ) {
        if let Some(lrs) = &self.lrs {
            opt.set_lr(lrs[k - 1]);
        }
        net.zero_grad();
        net.loss_dyn(self.x.view(), Target::Values(self.target.view()))
            .expect("valid batch");
        net.backward().expect("after a loss");
        opt.step(net);
        if let Some(s) = scheduler {
            s.step(opt);
        }
    }
}

/// Sets every parameter of `net` from the fixture's initial parameters.
pub fn load_initial<N: Network>(net: &mut N, f: &Fixture)
where
    N::Elem: FixtureFloat,
{
    net.visit_parameters_mut(&mut |mut p| {
        let value = f.get::<N::Elem>(p.name);
        assert_eq!(value.shape(), p.value.shape(), "{}: {}", f.name, p.name);
        p.value.assign(&value);
    });
}

/// Every parameter's value, by name.
pub fn parameters<N: Network>(net: &N) -> Vec<(&'static str, ArrayD<N::Elem>)> {
    let mut all = vec![];
    net.visit_parameters(&mut |name, value, _| all.push((name, value.to_owned())));
    all
}

/// The largest `|a − e| / max(|e|, FLOOR · max|e|)`: the error `assert_close` bounds by RTOL.
pub fn relative_error<T: FixtureFloat>(actual: &ArrayD<T>, expected: &ArrayD<T>) -> f64 {
    let scale = expected
        .iter()
        .fold(0.0f64, |m, v| m.max(v.to_f64().unwrap().abs()));
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| {
            let (a, e) = (a.to_f64().unwrap(), e.to_f64().unwrap());
            if a == e {
                0.0
            } else {
                (a - e).abs() / e.abs().max(T::FLOOR * scale)
            }
        })
        .fold(0.0, f64::max)
}
