use tapeless::ndarray::{Array1, Array4};
use tapeless::prelude::*;

network! {
    /// LeNet-style classifier for 28x28 grey digits.
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [16, 14, 14],
        conv2: Conv2d<16, 32, 3>(padding = 1),
        relu2: ReLU,
        pool2: MaxPool2d<2>,
        flat: Flatten -> [1568],
        fc1: Linear<1568, 128>,
        relu3: ReLU,
        fc2: Linear<128, 10>,
        loss: CrossEntropy,
    }
}

#[test]
fn lenet_runs() {
    let mut net = LeNet::seeded(42);
    println!("{}", net.summary());
    let x = Array4::<f32>::from_shape_fn((4, 1, 28, 28), |(n, _, h, w)| {
        ((n + h * w) % 7) as f32 / 7.0
    });
    let y = Array1::from(vec![1usize, 2, 3, 4]);
    let l = net.loss(x.view(), y.view()).unwrap();
    println!("loss {l}");
    net.backward().unwrap();
    assert!(net.backward().is_err());
    assert_eq!(LeNet::PARAMETERS, 160 + 4640 + 1568 * 128 + 128 + 1290);
}
