use tapeless::prelude::*;

network! {
    pub struct Bad {
        input: [10],
        fc1: Linear<12, 3>,
        loss: MSE,
    }
}

fn train<N: tapeless::Network>(_net: &mut N) {}

fn main() {
    let mut net = Bad::seeded(1);
    train(&mut net);
    let _: &[usize] = &Bad::INPUT_SHAPE;
}
