use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 4, 4],
        conv1: Conv2d<1, 2, 5>,
    }
}

fn main() {}
