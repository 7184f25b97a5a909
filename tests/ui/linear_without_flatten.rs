use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 28, 28],
        conv1: Conv2d<1, 4, 3>,
        fc1: Linear<2704, 10>,
    }
}

fn main() {}
