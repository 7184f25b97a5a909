use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 3> -> [16, 28, 28],
    }
}

fn main() {}
