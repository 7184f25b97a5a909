use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 8, 8],
        conv1: Conv2d<1, 2, 3>(dilation = 5, padding = 1),
    }
}

fn main() {}
