//! The candle worker of the comparison harness: the workloads of `benches/workloads/mod.rs`
//! written with candle-nn, on the CPU device. Serves the protocol of `src/lib.rs`.
//!
//! Threads: candle's CPU matmul (the `gemm` crate) and its parallel ops use
//! `RAYON_NUM_THREADS`.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{
    conv2d, linear, loss, ops, AdamW, Conv2d, Conv2dConfig, Linear, Optimizer, ParamsAdamW,
    VarBuilder, VarMap, SGD,
};
use tapeless_compare::{serve, threads, Step};

struct MlpTiny {
    fc1: Linear,
    fc2: Linear,
}

impl Module for MlpTiny {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&ops::sigmoid(&self.fc1.forward(x)?)?)
    }
}

struct Mlp {
    layers: Vec<Linear>,
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}

struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
}

impl Module for LeNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.conv1.forward(x)?.relu()?.max_pool2d(2)?;
        let h = self.conv2.forward(&h)?.relu()?.max_pool2d(2)?;
        let h = self.fc1.forward(&h.flatten_from(1)?)?.relu()?;
        self.fc2.forward(&h)
    }
}

fn mlp(vb: &VarBuilder, dims: &[usize]) -> Result<Mlp> {
    let layers = dims
        .windows(2)
        .enumerate()
        .map(|(i, d)| linear(d[0], d[1], vb.pp(format!("fc{}", i + 1))))
        .collect::<Result<_>>()?;
    Ok(Mlp { layers })
}

fn lenet(vb: &VarBuilder) -> Result<LeNet> {
    let pad = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    Ok(LeNet {
        conv1: conv2d(1, 16, 3, pad, vb.pp("conv1"))?,
        conv2: conv2d(16, 32, 3, pad, vb.pp("conv2"))?,
        fc1: linear(1568, 128, vb.pp("fc1"))?,
        fc2: linear(128, 10, vb.pp("fc2"))?,
    })
}

fn adam(vars: &VarMap) -> Result<AdamW> {
    // AdamW without weight decay is Adam.
    let params = ParamsAdamW {
        lr: 1e-3,
        weight_decay: 0.0,
        ..Default::default()
    };
    AdamW::new(vars.all_vars(), params)
}

fn classes(n: usize, dev: &Device) -> Result<Tensor> {
    let ids: Vec<u32> = (0..n as u32).map(|i| (i * 7 + 3) % 10).collect();
    Tensor::from_vec(ids, n, dev)
}

/// A training step of `model` with optimizer `opt` and loss `loss_fn` on (x, y).
fn train<M: Module + 'static, O: Optimizer + 'static>(
    model: M,
    mut opt: O,
    x: Tensor,
    y: Tensor,
    loss_fn: fn(&Tensor, &Tensor) -> Result<Tensor>,
) -> Step {
    Box::new(move || {
        let out = model.forward(&x).expect("forward");
        let l = loss_fn(&out, &y).expect("loss");
        opt.backward_step(&l).expect("backward and step");
        l.to_scalar::<f32>().expect("scalar")
    })
}

fn infer<M: Module + 'static>(model: M, x: Tensor) -> Step {
    Box::new(move || {
        let out = model.forward(&x).expect("forward");
        out.flatten_all()
            .and_then(|o| o.get(0))
            .and_then(|v| v.to_scalar::<f32>())
            .expect("out")
    })
}

fn make(name: &str) -> Result<Option<Step>> {
    let dev = Device::Cpu;
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &dev);
    Ok(Some(match name {
        "mlp-tiny" => {
            let m = MlpTiny {
                fc1: linear(2, 16, vb.pp("fc1"))?,
                fc2: linear(16, 1, vb.pp("fc2"))?,
            };
            let opt = SGD::new(vars.all_vars(), 0.1)?;
            let x = Tensor::randn(0f32, 1., (32, 2), &dev)?;
            let y = Tensor::randn(0f32, 1., (32, 1), &dev)?;
            train(m, opt, x, y, loss::mse)
        }
        "mlp-small" => {
            let m = mlp(&vb, &[784, 128, 10])?;
            let opt = SGD::new(vars.all_vars(), 0.01)?;
            let x = Tensor::randn(0f32, 1., (64, 784), &dev)?;
            train(m, opt, x, classes(64, &dev)?, loss::cross_entropy)
        }
        "mlp-wide" => {
            let m = mlp(&vb, &[784, 1024, 1024, 10])?;
            let opt = adam(&vars)?;
            let x = Tensor::randn(0f32, 1., (256, 784), &dev)?;
            train(m, opt, x, classes(256, &dev)?, loss::cross_entropy)
        }
        "cnn-lenet" => {
            let m = lenet(&vb)?;
            let opt = adam(&vars)?;
            let x = Tensor::randn(0f32, 1., (64, 1, 28, 28), &dev)?;
            train(m, opt, x, classes(64, &dev)?, loss::cross_entropy)
        }
        "mlp-small-infer" => {
            let m = mlp(&vb, &[784, 128, 10])?;
            infer(m, Tensor::randn(0f32, 1., (1, 784), &dev)?)
        }
        "cnn-lenet-infer" => {
            let m = lenet(&vb)?;
            infer(m, Tensor::randn(0f32, 1., (1, 1, 28, 28), &dev)?)
        }
        _ => return Ok(None),
    }))
}

fn main() {
    serve("candle", "0.11.1", threads(), |name| {
        make(name).expect("candle model")
    });
}
