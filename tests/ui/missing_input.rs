use tapeless::prelude::*;

network! {
    struct Net {
        fc1: Linear<784, 10>,
    }
}

fn main() {}
