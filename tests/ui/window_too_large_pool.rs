use tapeless::prelude::*;

network! {
    struct Net {
        input: [1, 3, 3],
        pool1: MaxPool2d<4>(padding = 0),
    }
}

fn main() {}
