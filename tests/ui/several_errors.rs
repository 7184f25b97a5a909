use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 28, 28],
        conv1: Conv2d<3, 16, 3>(padding = 1),
        relu1: ReLU,
        fc1: Linear<12544, 10>,
        fc2: Linear<10, 10> -> [5],
    }
}

fn main() {}
