use tapeless::prelude::*;

network! {
    struct Net {
        input: [3, 32, 32],
        conv1: Conv2d<1, 16, 3>,
    }
}

fn main() {}
