use tapeless::prelude::*;

network! {
    /// LeNet-style classifier, in f64.
    #[dtype(f64)]
    pub struct LeNet64 {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [16, 14, 14],
        conv2: Conv2d<16, 32, 3>(padding = 1, stride = (1, 1), dilation = 1, bias = false),
        relu2: LeakyReLU(slope = 0.1),
        pool2: AvgPool2d<2>(stride = 2, padding = 1) -> [32, 8, 8],
        flat: Flatten -> [2048],
        fc1: Linear<2048, 128>(bias = true),
        relu3: Tanh,
        fc2: Linear<128, 10>,
        loss: CrossEntropy(reduction = sum),
    }
}

fn main() {
    let mut net = LeNet64::seeded(1);
    net.zero_grad();
    let _: usize = LeNet64::PARAMETERS;
}
