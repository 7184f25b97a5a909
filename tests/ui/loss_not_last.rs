use tapeless::prelude::*;

network! {
    struct Net {
        input: [10],
        fc1: Linear<10, 3>,
        loss: MSE,
        fc2: Linear<3, 3>,
    }
}

fn main() {}
