//! tapeless' optimizers and LR schedules against torch.optim
//! (`tests/fixtures/make_optim_fixtures.py`): every parameter after every one of 5 training
//! steps, and the optimizer's state after the last, in f64 (1e-10) and f32 (1e-5); learning
//! rates changed between steps; state round trips; `load_state` refusing bad states.

mod common;

use common::networks::{Logistic64, MlpSigmoidMse32, MlpSigmoidMse64};
use common::optim::{
    cases, fixture, load_initial, optimizer, parameters, relative_error, AnyOptimizer, Meta, Recipe,
};
use common::{assert_close, fixture_dir, Fixture, FixtureFloat};
use tapeless::ndarray::{ArrayD, IxDyn, ShapeBuilder};
use tapeless::{
    Adam, CosineAnnealingLR, Error, ExponentialLR, LrScheduler, Network, Optimizer, OptimizerState,
    Sgd, StepLR, Target,
};

/// Runs the fixture's 5 steps from its initial parameters and compares every parameter after
/// every step, then the optimizer's state. Returns the worst relative error (as
/// `assert_close` measures it).
fn check_case<N: Network>(mut net: N, case: &str) -> f64
where
    N::Elem: FixtureFloat,
{
    let f = fixture(case);
    let meta = Meta::of(case);
    let mut opt = optimizer::<N::Elem>(&meta);
    let recipe = Recipe::of(&f, &meta);
    meta.all_used();
    let label = format!("{case} ({})", std::any::type_name::<N::Elem>());
    load_initial(&mut net, &f);
    let mut scheduler = recipe.scheduler(&opt);
    let mut worst = 0.0f64;
    for k in 1..=recipe.steps {
        recipe.step(k, &mut net, &mut opt, &mut scheduler);
        for (name, value) in parameters(&net) {
            let expected = f.get::<N::Elem>(&format!("step{k}.{name}"));
            assert_close(&label, &format!("step {k} {name}"), &value, &expected);
            worst = worst.max(relative_error(&value, &expected));
        }
    }

    let state = opt.state();
    if let Some(steps) = recipe.torch_step {
        assert_eq!(state.steps, steps, "{label}: step count");
    }
    let mut ours: Vec<&str> = state.buffers.iter().map(|(n, _)| n.as_str()).collect();
    let mut torch: Vec<String> = f
        .names()
        .into_iter()
        .filter_map(|n| n.strip_prefix("state.").map(str::to_owned))
        .filter(|n| !n.ends_with(".f32"))
        .collect();
    ours.sort_unstable();
    torch.sort_unstable();
    assert_eq!(ours, torch, "{label}: buffer names");
    for (name, buffer) in &state.buffers {
        let expected = f.get::<N::Elem>(&format!("state.{name}"));
        assert_close(&label, name, buffer, &expected);
        worst = worst.max(relative_error(buffer, &expected));
    }
    worst
}

#[test]
fn every_optimizer_matches_torch_optim_step_by_step() {
    let mut report = vec![];
    for case in cases() {
        let worst64 = check_case(MlpSigmoidMse64::seeded(0), &case);
        let worst32 = check_case(MlpSigmoidMse32::seeded(0), &case);
        report.push(format!(
            "{case:32} worst relative error f64 {worst64:.2e}, f32 {worst32:.2e}"
        ));
    }
    println!("{}", report.join("\n"));
}

#[test]
fn lr_schedules_match_torch() {
    let f = Fixture::read(&fixture_dir("optim").join("lr_schedules.safetensors"));
    let base = f.meta("base_lr").parse::<f64>().unwrap();
    let epochs: usize = f.meta("epochs").parse().unwrap();
    let num = |key: &str| f.meta(key).parse::<f64>().unwrap();
    let mut checked = 0;
    for name in f.names() {
        let mut opt = Sgd::<f64>::new(base);
        let expected = f.get::<f64>(&name);
        let mut lrs = vec![opt.lr()];
        let class = f.meta(&format!("{name}.class"));
        // One loop per type: each scheduler sets the optimizer's rate on `step`.
        macro_rules! run {
            ($sched:expr) => {{
                let mut sched = $sched;
                assert_eq!(sched.last_lr(), base, "{name}: epoch 0");
                for epoch in 1..=epochs {
                    sched.step(&mut opt);
                    assert_eq!(sched.last_epoch(), epoch as u64);
                    assert_eq!(sched.last_lr(), opt.lr());
                    lrs.push(opt.lr());
                }
            }};
        }
        match class {
            "StepLR" => run!(StepLR::new(
                &opt,
                num(&format!("{name}.step_size")) as u64,
                num(&format!("{name}.gamma"))
            )),
            "ExponentialLR" => run!(ExponentialLR::new(&opt, num(&format!("{name}.gamma")))),
            "CosineAnnealingLR" => run!(CosineAnnealingLR::new(
                &opt,
                num(&format!("{name}.T_max")) as u64,
                num(&format!("{name}.eta_min"))
            )),
            other => panic!("{name}: unknown schedule {other}"),
        }
        let ours = ArrayD::from_shape_vec(IxDyn(&[lrs.len()]), lrs).unwrap();
        assert_close(&name, "learning rates", &ours, &expected);
        checked += 1;
    }
    assert_eq!(checked, 5, "schedules in the fixture");
}

/// The fixture's network and recipe after `steps` steps with `opt`.
fn trained<N: Network>(
    mut net: N,
    case: &str,
    opt: &mut AnyOptimizer<N::Elem>,
    steps: std::ops::RangeInclusive<usize>,
) -> N
where
    N::Elem: FixtureFloat,
{
    let f = fixture(case);
    let recipe = Recipe::<N::Elem>::of(&f, &Meta::of(case));
    load_initial(&mut net, &f);
    let mut scheduler = recipe.scheduler(&*opt);
    for k in steps {
        recipe.step(k, &mut net, opt, &mut scheduler);
    }
    net
}

#[test]
fn changing_the_learning_rate_between_steps_is_honoured() {
    // Against PyTorch: the fixtures `sgd_momentum_lr_changes` (lr set before every step) and
    // `adam_step_lr` (StepLR after every step) are among the cases above. Here, directly:
    // a step with lr 0 changes no parameter, and the next step uses the new lr exactly.
    let f = fixture("sgd");
    let meta = Meta::of("sgd");
    let recipe = Recipe::<f64>::of(&f, &meta);
    let mut net = MlpSigmoidMse64::seeded(0);
    load_initial(&mut net, &f);
    let mut opt = Sgd::<f64>::new(0.1);
    opt.set_lr(0.0);
    recipe.step(1, &mut net, &mut opt, &mut None);
    for (name, value) in parameters(&net) {
        assert_eq!(value, f.get::<f64>(name), "{name} after a step with lr 0");
    }
    opt.set_lr(0.1);
    recipe.step(1, &mut net, &mut opt, &mut None);
    for (name, value) in parameters(&net) {
        assert_close("sgd", name, &value, &f.get::<f64>(&format!("step1.{name}")));
    }
    assert_eq!(opt.lr(), 0.1);
}

#[test]
fn state_round_trip_continues_as_if_uninterrupted() {
    for case in cases() {
        let meta = Meta::of(&case);
        let mut uninterrupted = optimizer::<f64>(&meta);
        let reference = trained(MlpSigmoidMse64::seeded(0), &case, &mut uninterrupted, 1..=5);

        let mut first = optimizer::<f64>(&meta);
        let mut net = trained(MlpSigmoidMse64::seeded(0), &case, &mut first, 1..=2);
        let saved = first.state();

        // A fresh optimizer (no buffers yet) takes the state, and the learning rate the first
        // one ended with (the state holds buffers and the step count, not hyper-parameters).
        let mut resumed = optimizer::<f64>(&meta);
        resumed.load_state(saved.clone()).unwrap();
        resumed.set_lr(first.lr());
        assert_eq!(resumed.state(), saved, "{case}: state after load_state");
        let f = fixture(&case);
        let recipe = Recipe::<f64>::of(&f, &meta);
        // The scheduler (if any) resumes from its own epoch count.
        let mut scheduler = recipe.scheduler(&optimizer::<f64>(&meta));
        for _ in 0..2 {
            if let Some(s) = &mut scheduler {
                s.advance();
            }
        }
        for k in 3..=5 {
            recipe.step(k, &mut net, &mut resumed, &mut scheduler);
        }
        assert_eq!(
            parameters(&net),
            parameters(&reference),
            "{case}: resumed from a fresh optimizer"
        );
        assert_eq!(
            resumed.state(),
            uninterrupted.state(),
            "{case}: final state"
        );

        // An optimizer that already stepped (elsewhere) takes it too: its buffers are replaced.
        // Here the state's buffers are column major (as a state built by hand may be): the same
        // values, the same steps after.
        let mut stepped = optimizer::<f64>(&meta);
        trained(MlpSigmoidMse64::seeded(0), &case, &mut stepped, 1..=4);
        stepped.load_state(column_major(saved)).unwrap();
        stepped.set_lr(first.lr());
        let mut net = trained(
            MlpSigmoidMse64::seeded(0),
            &case,
            &mut optimizer(&meta),
            1..=2,
        );
        let mut scheduler = recipe.scheduler(&optimizer::<f64>(&meta));
        for _ in 0..2 {
            if let Some(s) = &mut scheduler {
                s.advance();
            }
        }
        for k in 3..=5 {
            recipe.step(k, &mut net, &mut stepped, &mut scheduler);
        }
        assert_eq!(
            parameters(&net),
            parameters(&reference),
            "{case}: resumed on an optimizer that had stepped"
        );
    }
}

/// `state` with every buffer copied into column-major (Fortran) layout.
fn column_major(state: OptimizerState<f64>) -> OptimizerState<f64> {
    let buffers = state.buffers.into_iter().map(|(name, a)| {
        let mut f = ArrayD::zeros(IxDyn(a.shape()).f());
        f.assign(&a);
        (name, f)
    });
    OptimizerState {
        steps: state.steps,
        buffers: buffers.collect(),
    }
}

/// Another network with `net`'s parameters and gradients.
fn copy(net: &MlpSigmoidMse64) -> MlpSigmoidMse64 {
    let mut all = vec![];
    net.visit_parameters(&mut |_, v, g| all.push((v.to_owned(), g.to_owned())));
    let mut other = MlpSigmoidMse64::seeded(1);
    let mut i = 0;
    other.visit_parameters_mut(&mut |mut p| {
        p.value.assign(&all[i].0);
        p.grad.assign(&all[i].1);
        i += 1;
    });
    other
}

fn is_state_error(result: tapeless::Result<()>, needle: &str) {
    match result {
        Err(e @ Error::OptimizerState { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains(needle),
                "error `{message}` should mention `{needle}`"
            );
        }
        other => panic!("expected Error::OptimizerState mentioning {needle}, got {other:?}"),
    }
}

/// A way a state can be wrong: what, what the error says on an optimizer that has buffers and
/// on a fresh one, and the state.
type Bad = (&'static str, String, String, OptimizerState<f64>);

/// Each way a state can be wrong, as a change of a good state.
fn bad_states(good: &OptimizerState<f64>) -> Vec<Bad> {
    let both = |what, needle: String, s| (what, needle.clone(), needle, s);
    let mut bad = vec![];
    let mut s = good.clone();
    let (name, _) = s.buffers.remove(3);
    bad.push(both("missing", format!("missing buffer `{name}`"), s));

    let mut s = good.clone();
    s.buffers
        .push(("exp_avg/fc9.weight".into(), ArrayD::zeros(IxDyn(&[2, 2]))));
    bad.push((
        "extra parameter",
        "unexpected buffer `exp_avg/fc9.weight`: the optimizer has no parameter".into(),
        "missing buffer `exp_avg_sq/fc9.weight`".into(),
        s,
    ));

    let mut s = good.clone();
    s.buffers.push((
        "momentum_buffer/fc1.weight".into(),
        ArrayD::zeros(IxDyn(&[8, 4])),
    ));
    bad.push(both(
        "unknown kind",
        "unexpected buffer `momentum_buffer/fc1.weight`".into(),
        s,
    ));

    let mut s = good.clone();
    s.buffers
        .push(("fc1.weight".into(), ArrayD::zeros(IxDyn(&[8, 4]))));
    bad.push(both("unnamed", "unexpected buffer `fc1.weight`".into(), s));

    let mut s = good.clone();
    let dup = s.buffers[0].clone();
    s.buffers.push(dup);
    bad.push(both("duplicate", "appears twice".into(), s));

    let mut s = good.clone();
    let (name, _) = s.buffers[1].clone();
    s.buffers[1].1 = ArrayD::zeros(IxDyn(&[3, 3]));
    bad.push(both(
        "wrong shape",
        format!("buffer `{name}` has shape [3, 3], expected [8, 4]"),
        s,
    ));

    let mut s = good.clone();
    s.buffers.retain(|(n, _)| !n.starts_with("max_exp_avg_sq/"));
    bad.push(both(
        "without AMSGrad's buffers",
        "missing buffer `max_exp_avg_sq/".into(),
        s,
    ));

    let s = OptimizerState {
        steps: 2,
        buffers: vec![],
    };
    bad.push((
        "steps without buffers",
        "missing buffer `exp_avg/fc1.weight`".into(),
        "the state counts 2 steps but has none of the buffers".into(),
        s,
    ));
    bad
}

#[test]
fn load_state_rejects_bad_states_and_changes_nothing() {
    let case = "adam_amsgrad_wd";
    let meta = Meta::of(case);
    let make = || optimizer::<f64>(&meta);
    let mut control = make();
    let net = trained(MlpSigmoidMse64::seeded(0), case, &mut control, 1..=2);
    let good = control.state();
    assert_eq!(good.buffers.len(), 3 * 6);

    for (what, stepped_needle, fresh_needle, bad) in bad_states(&good) {
        // On an optimizer with buffers: the error, then the same state and the same next step.
        let mut opt = control.clone();
        is_state_error(opt.load_state(bad.clone()), &stepped_needle);
        assert_eq!(opt.state(), good, "{what}: state changed by a failed load");
        let (mut a, mut b) = (copy(&net), copy(&net));
        opt.step(&mut a);
        control.clone().step(&mut b);
        assert_eq!(parameters(&a), parameters(&b), "{what}: next step");

        // On a fresh optimizer: the error, and it stays fresh.
        let mut fresh = make();
        is_state_error(fresh.load_state(bad), &fresh_needle);
        assert_eq!(fresh.state(), OptimizerState::default(), "{what}: fresh");
    }

    // A state of plain Adam does not fit AMSGrad, nor the other way round; SGD without
    // momentum keeps no buffers at all.
    let plain = Meta::of("adam");
    let mut adam = optimizer::<f64>(&plain);
    trained(MlpSigmoidMse64::seeded(0), "adam", &mut adam, 1..=1);
    is_state_error(
        make().load_state(adam.state()),
        "missing buffer `max_exp_avg_sq/fc1.weight`",
    );
    is_state_error(
        optimizer::<f64>(&plain).load_state(good.clone()),
        "unexpected buffer `max_exp_avg_sq/fc1.weight`",
    );
    is_state_error(Sgd::<f64>::new(0.1).load_state(good), "keeps no buffers");
}

#[test]
#[should_panic(expected = "step on another network")]
fn stepping_another_network_panics_before_changing_it() {
    let mut opt = Adam::<f64>::new(1e-3);
    let mut net = MlpSigmoidMse64::seeded(0);
    opt.step(&mut net);
    let mut other = Logistic64::seeded(0);
    let x = tapeless::ndarray::Array2::<f64>::zeros((2, 2)).into_dyn();
    let y = tapeless::ndarray::Array2::<f64>::ones((2, 1)).into_dyn();
    other.loss_dyn(x.view(), Target::Values(y.view())).unwrap();
    other.backward().unwrap();
    opt.step(&mut other);
}
