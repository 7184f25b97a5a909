use tapeless::prelude::*;

network! {
    pub struct Bad {
        input: [10],
        fc1: Linear<12, 3>,
        loss: MSE,
    }
}

fn main() {
    let mut net = Bad::seeded(1);
    net.zero_grad();
    let _: usize = Bad::PARAMETERS;
    println!("{}", net.summary());
}
