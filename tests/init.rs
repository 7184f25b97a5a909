//! Initialisation: seeded and reproducible, PyTorch's default bounds, and the Xavier / Kaiming
//! schemes' variances (checked statistically against their formulas).

mod common;

use common::networks::{LeNet32, LeNet64};
use tapeless::init::{fans, fill, initialize, FanMode, Init, Nonlinearity, Rng};
use tapeless::ndarray::ArrayD;
use tapeless::Network;

fn parameter<N: Network>(net: &N, name: &str) -> ArrayD<N::Elem> {
    let mut found = None;
    net.visit_parameters(&mut |n, v, _| {
        if n == name {
            found = Some(v.to_owned());
        }
    });
    found.unwrap_or_else(|| panic!("no parameter {name}"))
}

fn std_dev(x: &ArrayD<f64>) -> f64 {
    let mean = x.mean().unwrap();
    (x.mapv(|v| (v - mean).powi(2)).mean().unwrap()).sqrt()
}

#[test]
fn splitmix64_matches_its_reference_stream() {
    // The first outputs of SplitMix64 from state 0 (Vigna's reference implementation).
    let mut rng = Rng::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
}

#[test]
fn a_seed_gives_the_same_network_and_another_seed_another() {
    let a = LeNet32::seeded(42);
    let b = LeNet32::seeded(42);
    let c = LeNet32::seeded(43);
    for name in ["conv1.weight", "fc2.bias"] {
        assert_eq!(parameter(&a, name), parameter(&b, name));
        assert_ne!(parameter(&a, name), parameter(&c, name));
    }
    // f32 and f64 networks from one seed hold the same draws, rounded.
    let d = LeNet64::seeded(42);
    let (w32, w64) = (parameter(&a, "fc1.weight"), parameter(&d, "fc1.weight"));
    assert!(w32.iter().zip(w64.iter()).all(|(&s, &d)| s == d as f32));
}

#[test]
fn default_init_is_pytorchs_uniform_in_one_over_sqrt_fan_in() {
    let net = LeNet64::seeded(7);
    for (name, fan_in) in [
        ("conv1.weight", 9),
        ("conv1.bias", 9),
        ("conv2.weight", 16 * 9),
        ("fc1.weight", 1568),
        ("fc1.bias", 1568),
    ] {
        let x = parameter(&net, name);
        let bound = 1.0 / (fan_in as f64).sqrt();
        assert!(
            x.iter().all(|v| v.abs() <= bound),
            "{name} exceeds ±{bound}"
        );
        if x.len() > 1000 {
            // U(−b, b) has standard deviation b/√3.
            let rel = std_dev(&x) / (bound / 3f64.sqrt()) - 1.0;
            assert!(rel.abs() < 0.02, "{name}: std off by {rel}");
        }
    }
}

#[test]
fn fans_are_pytorchs() {
    assert_eq!(fans(&[128, 1568]), (1568, 128));
    assert_eq!(fans(&[32, 16, 3, 3]), (144, 288));
}

#[test]
fn xavier_and_kaiming_have_their_formulas_variance() {
    let shape = vec![256, 512];
    let (fan_in, fan_out) = (512.0f64, 256.0f64);
    let cases = [
        (Init::XavierUniform { gain: 1.0 }, 2.0 / (fan_in + fan_out)),
        (
            Init::XavierNormal { gain: 2.0 },
            4.0 * 2.0 / (fan_in + fan_out),
        ),
        (
            Init::KaimingUniform {
                nonlinearity: Nonlinearity::ReLU,
                mode: FanMode::FanIn,
            },
            2.0 / fan_in,
        ),
        (
            Init::KaimingNormal {
                nonlinearity: Nonlinearity::Tanh,
                mode: FanMode::FanOut,
            },
            (25.0 / 9.0) / fan_out,
        ),
        (
            Init::KaimingNormal {
                nonlinearity: Nonlinearity::LeakyReLU(0.2),
                mode: FanMode::FanIn,
            },
            2.0 / (1.0 + 0.04) / fan_in,
        ),
    ];
    let mut rng = Rng::new(3);
    for (init, variance) in cases {
        let mut x = ArrayD::<f64>::zeros(shape.clone());
        fill(&mut x.view_mut(), init, None, &mut rng);
        let rel = std_dev(&x) / variance.sqrt() - 1.0;
        assert!(rel.abs() < 0.02, "{init:?}: std off by {rel}");
    }
}

#[test]
fn initialize_applies_schemes_to_weights_and_biases() {
    let mut net = LeNet32::seeded(0);
    initialize(
        &mut net,
        Init::KaimingNormal {
            nonlinearity: Nonlinearity::ReLU,
            mode: FanMode::FanIn,
        },
        Init::Zeros,
        5,
    );
    assert!(parameter(&net, "fc1.bias").iter().all(|&b| b == 0.0));
    let w = parameter(&net, "fc1.weight").mapv(f64::from);
    let rel = std_dev(&w) / (2.0 / 1568.0f64).sqrt() - 1.0;
    assert!(rel.abs() < 0.02, "fc1.weight std off by {rel}");
    // Default bias init takes the layer's fan-in.
    initialize(&mut net, Init::PyTorchDefault, Init::PyTorchDefault, 6);
    let bound = 1.0 / 1568f32.sqrt();
    assert!(parameter(&net, "fc1.bias").iter().all(|b| b.abs() <= bound));
}
