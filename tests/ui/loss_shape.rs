use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 8, 8],
        conv1: Conv2d<1, 10, 3>,
        loss: CrossEntropy,
    }
}

fn main() {}
