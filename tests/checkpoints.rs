//! Checkpoints: round trip, interop with PyTorch both ways, and every malformed file an `Err`
//! that names the tensor and changes nothing.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::networks::{CnnOdd32, CnnOdd64, LeNet32};
use common::{assert_close, fixture_dir};
use tapeless::io::{write_tensors, TensorFile};
use tapeless::ndarray::{Array4, ArrayD, ArrayViewD};
use tapeless::Network;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("checkpoints");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn parameters<N: Network>(net: &N) -> Vec<(&'static str, ArrayD<N::Elem>)> {
    let mut all = vec![];
    net.visit_parameters(&mut |name, value, _| all.push((name, value.to_owned())));
    all
}

fn input() -> Array4<f32> {
    Array4::from_shape_fn((2, 3, 13, 11), |(n, c, h, w)| {
        ((n + 2 * c + 3 * h + w) % 7) as f32 / 7.0 - 0.4
    })
}

#[test]
fn save_then_load_restores_every_parameter() {
    let path = scratch("roundtrip.safetensors");
    let mut trained = LeNet32::seeded(1);
    trained.save(&path).unwrap();
    let mut other = LeNet32::seeded(2);
    assert_ne!(parameters(&other), parameters(&trained));
    other.load(&path).unwrap();
    assert_eq!(parameters(&other), parameters(&trained));

    let names = TensorFile::open(&path).unwrap().names();
    assert_eq!(
        names,
        [
            "conv1.bias",
            "conv1.weight",
            "conv2.bias",
            "conv2.weight",
            "fc1.bias",
            "fc1.weight",
            "fc2.bias",
            "fc2.weight"
        ]
    );
    let x = Array4::<f32>::zeros((1, 1, 28, 28));
    let a = trained.forward(x.view()).unwrap().to_owned();
    assert_eq!(other.forward(x.view()).unwrap(), a);
}

#[test]
fn a_state_dict_saved_by_pytorch_loads_and_gives_pytorchs_output() {
    let dir = fixture_dir("interop");
    let mut net = CnnOdd32::seeded(0);
    net.load(dir.join("cnn_odd_torch.safetensors")).unwrap();
    let io = TensorFile::open(dir.join("cnn_odd_torch_io.safetensors")).unwrap();
    let x = io.read::<f32>("x").unwrap();
    let output = net.forward_dyn(x.view()).unwrap().to_owned();
    assert_close(
        "cnn_odd_torch",
        "output",
        &output,
        &io.read::<f32>("output").unwrap(),
    );
}

/// The committed tapeless-side interop files (which make_interop_fixtures.py loads into PyTorch)
/// are exactly what tapeless writes today; `TAPELESS_WRITE_FIXTURES=1` rewrites them.
#[test]
fn the_checkpoint_pytorch_is_checked_against_is_what_tapeless_writes() {
    let dir = fixture_dir("interop");
    let mut net = CnnOdd32::seeded(5);
    let x = input();
    let output = net.forward(x.view()).unwrap().to_owned();
    let fresh = scratch("cnn_odd_tapeless.safetensors");
    net.save(&fresh).unwrap();
    if std::env::var_os("TAPELESS_WRITE_FIXTURES").is_some() {
        std::fs::copy(&fresh, dir.join("cnn_odd_tapeless.safetensors")).unwrap();
        let io = vec![
            ("x".to_owned(), x.view().into_dyn()),
            ("output".to_owned(), output.view().into_dyn()),
        ];
        write_tensors(
            dir.join("cnn_odd_tapeless_io.safetensors"),
            io,
            HashMap::new(),
        )
        .unwrap();
    }
    let committed = std::fs::read(dir.join("cnn_odd_tapeless.safetensors")).unwrap();
    assert_eq!(
        std::fs::read(&fresh).unwrap(),
        committed,
        "regenerate with TAPELESS_WRITE_FIXTURES=1"
    );
    let io = TensorFile::open(dir.join("cnn_odd_tapeless_io.safetensors")).unwrap();
    assert_eq!(io.read::<f32>("output").unwrap(), output.into_dyn());
}

/// Writes the LeNet's parameters with `edit` applied to the list first.
fn write_edited(name: &str, edit: impl FnOnce(&mut Vec<(String, ArrayD<f32>)>)) -> PathBuf {
    let mut tensors: Vec<(String, ArrayD<f32>)> = parameters(&LeNet32::seeded(9))
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    edit(&mut tensors);
    let path = scratch(name);
    let views: Vec<(String, ArrayViewD<'_, f32>)> =
        tensors.iter().map(|(n, v)| (n.clone(), v.view())).collect();
    write_tensors(&path, views, HashMap::new()).unwrap();
    path
}

fn assert_load_fails(path: &std::path::Path, expected: &str) {
    let mut net = LeNet32::seeded(3);
    let before = parameters(&net);
    let err = net.load(path).unwrap_err().to_string();
    assert!(
        err.contains(expected),
        "`{err}` should contain `{expected}`"
    );
    assert_eq!(
        parameters(&net),
        before,
        "a failed load changed the network"
    );
}

#[test]
fn missing_extra_misnamed_misshaped_tensors_are_errors_that_change_nothing() {
    let missing = write_edited("missing.safetensors", |t| {
        t.retain(|(n, _)| n != "fc2.bias")
    });
    assert_load_fails(&missing, "tensor `fc2.bias` is missing");

    let extra = write_edited("extra.safetensors", |t| {
        t.push(("fc3.weight".into(), ArrayD::zeros(vec![2, 2])))
    });
    assert_load_fails(
        &extra,
        "unexpected tensor `fc3.weight` (not parameters of LeNet32)",
    );

    let misnamed = write_edited("misnamed.safetensors", |t| t[0].0 = "conv1.weights".into());
    assert_load_fails(&misnamed, "tensor `conv1.weight` is missing");

    let misshaped = write_edited("misshaped.safetensors", |t| {
        let fc1 = t.iter_mut().find(|(n, _)| n == "fc1.weight").unwrap();
        fc1.1 = ArrayD::zeros(vec![128, 1600]);
    });
    assert_load_fails(
        &misshaped,
        "tensor `fc1.weight` has shape [128, 1600], but the network's is [128, 1568]",
    );
}

#[test]
fn a_checkpoint_of_the_wrong_dtype_is_an_error() {
    let path = scratch("f64.safetensors");
    CnnOdd64::seeded(0).save(&path).unwrap();
    let mut net = CnnOdd32::seeded(1);
    let before = parameters(&net);
    let err = net.load(&path).unwrap_err().to_string();
    assert!(
        err.contains("tensor `conv1.weight` is F64, but the network computes in F32"),
        "{err}"
    );
    assert_eq!(parameters(&net), before);
}

#[test]
fn truncated_corrupt_and_absent_files_are_errors_that_change_nothing() {
    let good = scratch("good.safetensors");
    LeNet32::seeded(4).save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    assert_load_fails(&truncated, "not a valid safetensors file");

    let corrupt = scratch("corrupt.safetensors");
    let mut garbled = bytes.clone();
    garbled[8..40].fill(b'#'); // the JSON header
    std::fs::write(&corrupt, &garbled).unwrap();
    assert_load_fails(&corrupt, "not a valid safetensors file");

    std::fs::write(scratch("tiny.safetensors"), b"abc").unwrap();
    assert_load_fails(&scratch("tiny.safetensors"), "not a valid safetensors file");

    assert_load_fails(
        &scratch("does-not-exist.safetensors"),
        "does-not-exist.safetensors",
    );
}

/// Training resumes where it stopped: network and optimizer saved after 3 steps, loaded into
/// fresh ones, 2 more steps give bit-for-bit what 5 uninterrupted steps give.
#[test]
fn optimizer_state_saves_and_training_resumes_exactly() {
    use common::networks::MlpSigmoidMse32;
    use tapeless::io::{load_optimizer, save_optimizer};
    use tapeless::ndarray::Array2;
    use tapeless::{Adam, Optimizer};

    let x = Array2::from_shape_fn((5, 4), |(i, j)| (i as f32 - 2.0 * j as f32) / 4.0);
    let t = Array2::from_shape_fn((5, 3), |(i, j)| ((i + j) % 3) as f32 / 2.0);
    let step = |net: &mut MlpSigmoidMse32, opt: &mut Adam<f32>| {
        net.zero_grad();
        net.loss(x.view(), t.view()).unwrap();
        net.backward().unwrap();
        opt.step(net);
    };

    let mut straight = MlpSigmoidMse32::seeded(1);
    let mut opt = Adam::new(1e-2);
    for _ in 0..5 {
        step(&mut straight, &mut opt);
    }

    let mut first = MlpSigmoidMse32::seeded(1);
    let mut opt1 = Adam::new(1e-2);
    for _ in 0..3 {
        step(&mut first, &mut opt1);
    }
    let (net_path, opt_path) = (
        scratch("resume-net.safetensors"),
        scratch("resume-adam.safetensors"),
    );
    first.save(&net_path).unwrap();
    save_optimizer(&opt1, &opt_path).unwrap();

    let mut resumed = MlpSigmoidMse32::seeded(99);
    let mut opt2 = Adam::new(0.5); // the saved lr (1e-2) comes back with the state
    resumed.load(&net_path).unwrap();
    load_optimizer(&mut opt2, &opt_path).unwrap();
    assert_eq!(opt2.lr(), 1e-2);
    for _ in 0..2 {
        step(&mut resumed, &mut opt2);
    }
    assert_eq!(parameters(&resumed), parameters(&straight));

    // A network's checkpoint is not an optimizer state: an error, and nothing changes.
    let mut opt3 = Adam::<f32>::new(1e-3);
    assert!(load_optimizer(&mut opt3, &net_path).is_err());
    assert_eq!(opt3.lr(), 1e-3);
}
