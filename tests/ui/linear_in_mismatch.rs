use tapeless::prelude::*;

network! {
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [16, 14, 14],
        conv2: Conv2d<16, 32, 3>(padding = 1),
        relu2: ReLU,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc1: Linear<1600, 128>,
        relu3: ReLU,
        fc2: Linear<128, 10>,
        loss: CrossEntropy,
    }
}

fn main() {}
