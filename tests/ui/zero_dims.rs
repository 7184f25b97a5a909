use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 0, 28],
        conv1: Conv2d<1, 0, 3>,
    }
}

fn main() {}
