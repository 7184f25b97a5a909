use tapeless::prelude::*;

network! {
    #[dtype(f16)]
    struct Net {
        input: [10],
        fc1: Linear<10, 3>,
    }
}

fn main() {}
