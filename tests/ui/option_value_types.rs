use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 8, 8],
        conv1: Conv2d<1, 4, 3>(stride = true, padding = 0.5, bias = 1),
        act1: LeakyReLU(slope = yes),
        flat: Flatten,
        fc1: Linear<144, 3>(bias = maybe),
        loss: MSE(reduction = avg),
    }
}

fn main() {}
