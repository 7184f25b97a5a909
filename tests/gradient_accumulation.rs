//! PyTorch's gradient-accumulation recipe: `backward` adds into `.grad`, so several backward
//! passes over micro-batches without `zero_grad` in between give the gradient of the whole
//! batch, exactly so for a sum-reduced loss (and 1/k of the micro-batch count times it for a
//! mean-reduced one, the reason PyTorch's recipe divides each micro-batch loss by k).

use tapeless::ndarray::{s, Array1, Array4, ArrayD};
use tapeless::prelude::*;

network! {
    /// Convolution, both poolings and a linear layer, summing its loss over the batch.
    #[dtype(f64)]
    pub struct SumCnn {
        input: [2, 10, 10],
        conv1: Conv2d<2, 4, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [4, 5, 5],
        conv2: Conv2d<4, 6, 2>,
        tanh2: Tanh,
        pool2: AvgPool2d<2> -> [6, 2, 2],
        flat: Flatten -> [24],
        fc: Linear<24, 5>,
        loss: CrossEntropy(reduction = sum),
    }
}

network! {
    /// The same network with the default mean reduction.
    #[dtype(f64)]
    pub struct MeanCnn {
        input: [2, 10, 10],
        conv1: Conv2d<2, 4, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [4, 5, 5],
        conv2: Conv2d<4, 6, 2>,
        tanh2: Tanh,
        pool2: AvgPool2d<2> -> [6, 2, 2],
        flat: Flatten -> [24],
        fc: Linear<24, 5>,
        loss: CrossEntropy,
    }
}

const BATCH: usize = 64;
const MICRO: usize = 16;

fn batch() -> (Array4<f64>, Array1<usize>) {
    // A smooth pseudo-random pattern without ties (max pooling picks one clear maximum).
    let x = Array4::from_shape_fn((BATCH, 2, 10, 10), |(n, c, h, w)| {
        let t = (n * 200 + c * 100 + h * 10 + w) as f64;
        (t * 0.618_033_988_7).sin() + 0.3 * (t * 0.137).cos()
    });
    let y = Array1::from_shape_fn(BATCH, |n| (n * 7 + 3) % 5);
    (x, y)
}

fn gradients<N: Network<Elem = f64>>(net: &N) -> Vec<(&'static str, ArrayD<f64>)> {
    let mut all = vec![];
    net.visit_parameters(&mut |name, _, grad| all.push((name, grad.to_owned())));
    all
}

fn parameters<N: Network<Elem = f64>>(net: &N) -> Vec<(&'static str, ArrayD<f64>)> {
    let mut all = vec![];
    net.visit_parameters(&mut |name, value, _| all.push((name, value.to_owned())));
    all
}

/// `|a − e| ≤ rtol · max(|e|, 10⁻² max|e|)` entry by entry, for every named tensor; returns the
/// worst ratio `|a − e| / max(|e|, 10⁻² max|e|)`.
fn assert_all_close(
    what: &str,
    actual: &[(&str, ArrayD<f64>)],
    expected: &[(&str, ArrayD<f64>)],
    rtol: f64,
) -> f64 {
    assert_eq!(actual.len(), expected.len());
    let mut worst = 0.0f64;
    for ((name, a), (name_e, e)) in actual.iter().zip(expected) {
        assert_eq!(name, name_e);
        let scale = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{what}: {name} is all zero");
        for (i, (a, e)) in a.iter().zip(e).enumerate() {
            let error = (a - e).abs() / e.abs().max(1e-2 * scale);
            worst = worst.max(error);
            assert!(
                error <= rtol,
                "{what}: {name}[{i}] = {a:e}, expected {e:e} (relative error {error:e})"
            );
        }
    }
    worst
}

#[test]
fn four_micro_batches_accumulate_the_gradient_of_the_whole_batch() {
    let (x, y) = batch();

    let mut whole = SumCnn::seeded(11);
    whole.loss(x.view(), y.view()).unwrap();
    whole.backward().unwrap();
    let expected = gradients(&whole);

    let mut accumulated = SumCnn::seeded(11);
    let mut losses = 0.0;
    for k in 0..BATCH / MICRO {
        let part = s![k * MICRO..(k + 1) * MICRO, .., .., ..];
        let labels = y.slice(s![k * MICRO..(k + 1) * MICRO]);
        losses += accumulated.loss(x.slice(part), labels).unwrap();
        accumulated.backward().unwrap(); // no zero_grad: gradients add up
    }
    let worst = assert_all_close(
        "sum-reduced, 4 x 16 vs 64",
        &gradients(&accumulated),
        &expected,
        1e-12,
    );
    println!("gradient accumulation: worst relative difference {worst:.2e}");
    let whole_loss = whole.loss(x.view(), y.view()).unwrap();
    assert!((losses - whole_loss).abs() <= 1e-12 * whole_loss.abs());

    // Then one optimizer step from either gradient lands on the same parameters.
    let mut opt_whole = Adam::<f64>::new(1e-2);
    let mut opt_accumulated = Adam::<f64>::new(1e-2);
    opt_whole.step(&mut whole);
    opt_accumulated.step(&mut accumulated);
    assert_all_close(
        "parameters after one Adam step",
        &parameters(&accumulated),
        &parameters(&whole),
        1e-12,
    );
}

#[test]
fn with_a_mean_loss_each_micro_batch_counts_as_much_as_the_whole_batch() {
    let (x, y) = batch();
    let mut whole = MeanCnn::seeded(11);
    whole.loss(x.view(), y.view()).unwrap();
    whole.backward().unwrap();
    let k = (BATCH / MICRO) as f64;
    let expected: Vec<_> = gradients(&whole)
        .into_iter()
        .map(|(name, g)| (name, g * k))
        .collect();

    let mut accumulated = MeanCnn::seeded(11);
    for k in 0..BATCH / MICRO {
        let part = s![k * MICRO..(k + 1) * MICRO, .., .., ..];
        accumulated
            .loss(x.slice(part), y.slice(s![k * MICRO..(k + 1) * MICRO]))
            .unwrap();
        accumulated.backward().unwrap();
    }
    assert_all_close(
        "mean-reduced, 4 x 16 vs 4 x (64)",
        &gradients(&accumulated),
        &expected,
        1e-12,
    );
}
