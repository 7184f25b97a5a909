use tapeless::prelude::*;

network! {
    struct Net {}
}

fn main() {}
