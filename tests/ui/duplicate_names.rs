use tapeless::prelude::*;

network! {
    struct Net {
        input: [10],
        fc: Linear<10, 10>,
        fc: Linear<10, 5>,
    }
}

fn main() {}
