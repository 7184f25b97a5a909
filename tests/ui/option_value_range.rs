use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 8, 8],
        conv1: Conv2d<1, 4, 3>(stride = 0),
        pool1: MaxPool2d<2>(dilation = (1, 0)),
        act1: LeakyReLU(slope = -0.5),
    }
}

fn main() {}
