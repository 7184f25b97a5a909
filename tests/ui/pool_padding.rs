use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 8, 8],
        pool1: MaxPool2d<2>(padding = 2),
    }
}

fn main() {}
