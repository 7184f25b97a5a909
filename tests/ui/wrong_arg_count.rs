use tapeless::prelude::*;

network! {
    struct Net {
        input: [784],
        fc1: Linear<784>,
    }
}

fn main() {}
