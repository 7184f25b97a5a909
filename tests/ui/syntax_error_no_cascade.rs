use tapeless::prelude::*;

network! {
    struct Net {
        input: [10],
        fc1 Linear<10, 5>,
        fc2: Linear<5, 3>,
    }
}

fn main() {}
