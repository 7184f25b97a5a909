use tapeless::prelude::*;

network! {
    struct Net {
        input: [10],
        fc1: Linear<10, 10>,
        act1: Relu,
    }
}

fn main() {}
