use tapeless::prelude::*;

network! {
    pub strcut Bad {
        input: [10],
        fc1: Linear<10, 3>,
    }
}

fn main() {
    let mut net = Bad::seeded(1);
    net.zero_grad();
}
