//! Codegen: the checked network as a plain struct and impl, readable in `cargo expand`.
//!
//! The network is grouped into *stages*, one buffer each: a Linear, Conv2d or pooling layer
//! with the activation that follows it fused in (applied in place on its output), or a
//! standalone activation. Flatten is no stage at all: the next stage views the same buffer with
//! the flat shape. Backward runs the stages in reverse, from the loss down to the first layer
//! with parameters (nothing below it needs a gradient), ping-ponging two gradient buffers.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::check::{fmt_shape, Header};
use crate::model::{Activation, Dtype, Layer, LayerKind, LossKind, Network, Reduction, Window};

#[derive(Clone, Copy, PartialEq, Eq)]
enum StageKind {
    Linear,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    Activation,
}

struct Stage<'a> {
    kind: StageKind,
    /// The layer computed by the stage (the activation itself for a standalone one).
    layer: &'a Layer,
    /// The activation applied in place on the stage's output, if any.
    activation: Option<Activation>,
    /// Per-sample shape the kernel reads (already flat after a Flatten).
    input: Vec<usize>,
    /// Per-sample shape of the stage's buffer.
    output: Vec<usize>,
}

impl Stage<'_> {
    fn has_parameters(&self) -> bool {
        matches!(self.kind, StageKind::Linear | StageKind::Conv2d)
    }
    fn out(&self) -> Ident {
        format_ident!("out_{}", self.layer.name)
    }
    fn cols(&self) -> Ident {
        format_ident!("cols_{}", self.layer.name)
    }
    fn argmax(&self) -> Ident {
        format_ident!("argmax_{}", self.layer.name)
    }
    /// Rows and columns of the im2col matrix of a convolution stage, as literals.
    fn im2col_literals(&self) -> (Literal, Literal) {
        let (k, p) = self.im2col();
        (lit(k), lit(p))
    }

    /// Rows and columns of the im2col matrix of a convolution stage.
    fn im2col(&self) -> (usize, usize) {
        match self.layer.kind {
            LayerKind::Conv2d {
                in_channels,
                window,
                ..
            } => (
                in_channels * window.kernel.0 * window.kernel.1,
                self.output[1] * self.output[2],
            ),
            _ => (0, 0),
        }
    }
}

fn stages(net: &Network) -> Vec<Stage<'_>> {
    let mut stages: Vec<Stage<'_>> = Vec::new();
    for layer in &net.layers {
        let kind = match layer.kind {
            LayerKind::Flatten => continue,
            LayerKind::Activation(a) => {
                // Fuse into the previous stage unless it already has an activation: its backward
                // needs its own activated output, which a second in-place pass would overwrite.
                if let Some(last) = stages.last_mut() {
                    if last.activation.is_none() && last.kind != StageKind::Activation {
                        last.activation = Some(a);
                        continue;
                    }
                }
                StageKind::Activation
            }
            LayerKind::Linear { .. } => StageKind::Linear,
            LayerKind::Conv2d { .. } => StageKind::Conv2d,
            LayerKind::MaxPool2d(_) => StageKind::MaxPool2d,
            LayerKind::AvgPool2d(_) => StageKind::AvgPool2d,
        };
        stages.push(Stage {
            kind,
            layer,
            activation: match (kind, layer.kind) {
                (StageKind::Activation, LayerKind::Activation(a)) => Some(a),
                _ => None,
            },
            input: layer.input.clone(),
            output: layer.output.clone(),
        });
    }
    stages
}

/// `(n, d1, d2, ...)`: a batch shape for `Buffer::view`.
fn batch_shape(dims: &[usize]) -> TokenStream {
    let dims = dims.iter().map(|&d| Literal::usize_unsuffixed(d));
    quote!((n, #(#dims),*))
}

/// `Dim<[usize; rank + 1]>`: the ndarray dimension of a batch of `dims`.
fn batch_dim(dims: &[usize]) -> TokenStream {
    let rank = dims.len() + 1;
    quote!(::tapeless::ndarray::Dim<[usize; #rank]>)
}

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn usize_list(dims: &[usize]) -> TokenStream {
    let dims = dims.iter().map(|&d| Literal::usize_unsuffixed(d));
    quote!([#(#dims),*])
}

fn window_tokens(w: &Window) -> TokenStream {
    let pair = |(h, w): (usize, usize)| (lit(h), lit(w));
    let (kh, kw) = pair(w.kernel);
    let (sh, sw) = pair(w.stride);
    let (ph, pw) = pair(w.padding);
    let (dh, dw) = pair(w.dilation);
    quote!(::tapeless::Window2d {
        kernel: (#kh, #kw),
        stride: (#sh, #sw),
        padding: (#ph, #pw),
        dilation: (#dh, #dw),
    })
}

fn activation_tokens(a: Option<Activation>) -> TokenStream {
    match a {
        None => quote!(::tapeless::Activation::Identity),
        Some(Activation::ReLU) => quote!(::tapeless::Activation::ReLU),
        Some(Activation::Sigmoid) => quote!(::tapeless::Activation::Sigmoid),
        Some(Activation::Tanh) => quote!(::tapeless::Activation::Tanh),
        Some(Activation::LeakyReLU(s)) => {
            let s = Literal::f64_unsuffixed(s);
            quote!(::tapeless::Activation::LeakyReLU(#s))
        }
    }
}

fn elem(dtype: Dtype) -> TokenStream {
    match dtype {
        Dtype::F32 => quote!(f32),
        Dtype::F64 => quote!(f64),
    }
}

pub fn expand(net: &Network) -> TokenStream {
    let stages = stages(net);
    let name = &net.name;
    let name_str = name.to_string();
    let vis = &net.vis;
    let attrs = &net.attrs;
    let t = elem(net.dtype);
    let buffers_ty = format_ident!("__{}Buffers", name);
    let label = |layer: &Ident| format!("{name}.{layer}");

    let input_dims = &net.input;
    let output_dims = net.output();
    let in_dim = batch_dim(input_dims);
    let out_dim = batch_dim(output_dims);
    let in_rank = lit(input_dims.len());
    let out_rank = lit(output_dims.len());
    let input_list = usize_list(input_dims);
    let output_list = usize_list(output_dims);
    let out_shape = batch_shape(output_dims);
    let parameters = lit(net.parameters());
    let summary = summary(net);

    // -- fields -----------------------------------------------------------------------------
    let param_layers: Vec<&Layer> = net
        .layers
        .iter()
        .filter(|l| matches!(l.kind, LayerKind::Linear { .. } | LayerKind::Conv2d { .. }))
        .collect();
    let param_fields = param_layers.iter().map(|l| {
        let field = &l.name;
        let doc = format!(" `{}: {}` → {}", l.name, l.written, fmt_shape(&l.output));
        let ty = match l.kind {
            LayerKind::Linear { .. } => quote!(::tapeless::Linear<#t>),
            _ => quote!(::tapeless::Conv2d<#t>),
        };
        quote!(#[doc = #doc] pub #field: #ty)
    });
    let param_inits = param_layers.iter().map(|l| {
        let field = &l.name;
        match l.kind {
            LayerKind::Linear {
                inputs,
                outputs,
                bias,
            } => {
                let (inputs, outputs) = (lit(inputs), lit(outputs));
                quote!(#field: ::tapeless::Linear::new(#inputs, #outputs, #bias, &mut rng))
            }
            LayerKind::Conv2d {
                in_channels,
                out_channels,
                window,
                bias,
            } => {
                let w = window_tokens(&window);
                let (in_channels, out_channels) = (lit(in_channels), lit(out_channels));
                quote!(#field: ::tapeless::Conv2d::new(#in_channels, #out_channels, #w, #bias, &mut rng))
            }
            _ => unreachable!("filtered to layers with parameters"),
        }
    });

    let first_param = stages.iter().position(Stage::has_parameters);

    // Buffers: one output per stage, im2col per conv, argmax per max-pool, two gradients.
    let mut buffer_fields = vec![];
    let mut reserves = vec![];
    for s in &stages {
        let out = s.out();
        let len = lit(s.output.iter().product());
        buffer_fields.push(quote!(#out: ::tapeless::Buffer<#t>));
        reserves.push(quote!(b.#out.reserve(n * #len);));
        if s.kind == StageKind::Conv2d {
            // One sample's patches: backward forms them again from the stage's input.
            let cols = s.cols();
            let (k, p) = s.im2col();
            let len = lit(k * p);
            buffer_fields.push(quote!(#cols: ::tapeless::Buffer<#t>));
            reserves.push(quote!(b.#cols.reserve(#len);));
        }
        if s.kind == StageKind::MaxPool2d {
            let argmax = s.argmax();
            buffer_fields.push(quote!(#argmax: ::tapeless::Buffer<usize>));
            reserves.push(quote!(b.#argmax.reserve(n * #len);));
        }
    }
    let grad_len = lit(stages
        .iter()
        .map(|s| s.output.iter().product::<usize>())
        .max()
        .unwrap_or(0));

    // -- forward ------------------------------------------------------------------------------
    let mut forward = vec![];
    for (i, s) in stages.iter().enumerate() {
        let in_shape = batch_shape(&s.input);
        let out = s.out();
        let os = batch_shape(&s.output);
        let field = &s.layer.name;
        let lbl = label(field);
        let act = activation_tokens(s.activation);
        let source = if i == 0 {
            if matches!(s.kind, StageKind::Linear | StageKind::Conv2d) {
                // Kept for backward (the weight gradient needs it): one contiguous copy.
                forward.push(quote! {
                    b.input.copy_from(&x);
                });
                quote!(b.input.view(#in_shape))
            } else {
                quote!(::tapeless::buffer::standard_view(x, &mut b.input, #in_shape))
            }
        } else {
            let prev = stages[i - 1].out();
            quote!(b.#prev.view(#in_shape))
        };
        let call = match s.kind {
            StageKind::Linear => quote!(self.#field.forward(#source, #act, b.#out.view_mut(#os))),
            StageKind::Conv2d => {
                let cols = s.cols();
                let (k, p) = s.im2col_literals();
                quote!(self.#field.forward(#source, #act, b.#cols.view_mut((1, #k, #p)), b.#out.view_mut(#os)))
            }
            StageKind::MaxPool2d | StageKind::AvgPool2d => {
                let (LayerKind::MaxPool2d(w) | LayerKind::AvgPool2d(w)) = s.layer.kind else {
                    unreachable!("pool stages hold pool layers")
                };
                let window = window_tokens(&w);
                let pool = if s.kind == StageKind::MaxPool2d {
                    let argmax = s.argmax();
                    quote!(::tapeless::max_pool2d_forward(#source, &#window, b.#out.view_mut(#os), b.#argmax.view_mut(#os)))
                } else {
                    quote!(::tapeless::avg_pool2d_forward(#source, &#window, b.#out.view_mut(#os)))
                };
                match s.activation {
                    Some(_) => quote!(#pool.map(|()| #act.forward_inplace(b.#out.view_mut(#os)))),
                    None => pool,
                }
            }
            StageKind::Activation => quote!(#act.forward(#source, b.#out.view_mut(#os))),
        };
        forward.push(quote!(#call.map_err(|e| e.in_layer(#lbl))?;));
    }
    let last_out = stages.last().map(Stage::out);

    // -- backward -----------------------------------------------------------------------------
    let mut backward = vec![];
    if let Some(first) = first_param {
        let mut gy = 0usize; // the loss writes its gradient into grad0
        for i in (first..stages.len()).rev() {
            let s = &stages[i];
            let g = |k: usize| format_ident!("grad{}", k);
            let gx = if s.kind == StageKind::Activation {
                gy
            } else {
                1 - gy
            };
            let (gy_id, gx_id) = (g(gy), g(gx));
            let field = &s.layer.name;
            let lbl = label(field);
            let act = activation_tokens(s.activation);
            let out = s.out();
            let os = batch_shape(&s.output);
            let in_shape = batch_shape(&s.input);
            let call = match s.kind {
                StageKind::Linear => {
                    let x = if i == 0 {
                        quote!(b.input.view(#in_shape))
                    } else {
                        let prev = stages[i - 1].out();
                        quote!(b.#prev.view(#in_shape))
                    };
                    let dx = if i == first {
                        quote!(None)
                    } else {
                        quote!(Some(b.#gx_id.view_mut(#in_shape)))
                    };
                    quote!(self.#field.backward(#x, #act, b.#out.view(#os), b.#gy_id.view_mut(#os), #dx))
                }
                StageKind::Conv2d => {
                    let x = if i == 0 {
                        quote!(b.input.view(#in_shape))
                    } else {
                        let prev = stages[i - 1].out();
                        quote!(b.#prev.view(#in_shape))
                    };
                    let dx = if i == first {
                        quote!(None)
                    } else {
                        quote!(Some(b.#gx_id.view_mut(#in_shape)))
                    };
                    quote!(self.#field.backward_from_input(#x, #act, b.#out.view(#os), b.#gy_id.view_mut(#os), #dx))
                }
                StageKind::MaxPool2d | StageKind::AvgPool2d => {
                    let pool = if let LayerKind::AvgPool2d(w) = s.layer.kind {
                        let window = window_tokens(&w);
                        quote!(::tapeless::avg_pool2d_backward(b.#gy_id.view(#os), &#window, b.#gx_id.view_mut(#in_shape)))
                    } else {
                        let argmax = s.argmax();
                        quote!(::tapeless::max_pool2d_backward(b.#gy_id.view(#os), b.#argmax.view(#os), b.#gx_id.view_mut(#in_shape)))
                    };
                    match s.activation {
                        Some(_) => {
                            quote!(#act.backward_inplace(b.#out.view(#os), b.#gy_id.view_mut(#os)).and_then(|()| #pool))
                        }
                        None => pool,
                    }
                }
                StageKind::Activation => {
                    quote!(#act.backward_inplace(b.#out.view(#os), b.#gy_id.view_mut(#os)))
                }
            };
            backward.push(quote!(#call.map_err(|e| e.in_layer(#lbl))?;));
            gy = gx;
        }
    }

    // -- loss ---------------------------------------------------------------------------------
    let loss_methods = net.loss.as_ref().map(|loss| {
        let lbl = label(&loss.name);
        let reduction = match loss.reduction {
            Reduction::Mean => quote!(::tapeless::Reduction::Mean),
            Reduction::Sum => quote!(::tapeless::Reduction::Sum),
        };
        let (target_ty, check, compute) = match loss.kind {
            LossKind::CrossEntropy => {
                let classes = lit(output_dims[0]);
                (
                    quote!(::tapeless::ndarray::ArrayView1<'_, usize>),
                    quote!(::tapeless::network::check_classes(#lbl, &target, n, #classes)?;),
                    quote!(::tapeless::cross_entropy(b.#last_out.view(#out_shape), target, #reduction, Some(b.grad0.view_mut(#out_shape)))),
                )
            }
            kind => {
                let f = if kind == LossKind::Mse {
                    quote!(::tapeless::mse_loss)
                } else {
                    quote!(::tapeless::bce_with_logits)
                };
                (
                    quote!(::tapeless::ndarray::ArrayView<'_, #t, #out_dim>),
                    quote!(::tapeless::network::check_values(#lbl, target.shape(), n, &Self::OUTPUT_SHAPE)?;),
                    quote!(#f(b.#last_out.view(#out_shape), target, #reduction, Some(b.grad0.view_mut(#out_shape)))),
                )
            }
        };
        let doc = format!(
            " Forward pass and `{}` loss ({}) on a batch; keeps what [`backward`](Self::backward) needs.",
            loss.name,
            loss.kind.type_name()
        );
        let dyn_target = if loss.kind == LossKind::CrossEntropy {
            quote! {
                match target {
                    ::tapeless::Target::Classes(t) => self.loss(x, t),
                    ::tapeless::Target::Values(_) => Err(::tapeless::Error::Config {
                        layer: #lbl.to_owned(),
                        message: "CrossEntropy takes class ids (Target::Classes)".to_owned(),
                    }),
                }
            }
        } else {
            quote! {
                match target {
                    ::tapeless::Target::Values(v) => {
                        let v = ::tapeless::network::into_rank(#lbl, "target", v)?;
                        self.loss(x, v)
                    }
                    ::tapeless::Target::Classes(_) => Err(::tapeless::Error::Config {
                        layer: #lbl.to_owned(),
                        message: "this loss takes values of the output's shape (Target::Values)".to_owned(),
                    }),
                }
            }
        };
        (
            quote! {
                #[doc = #doc]
                pub fn loss(
                    &mut self,
                    x: ::tapeless::ndarray::ArrayView<'_, #t, #in_dim>,
                    target: #target_ty,
                ) -> ::tapeless::Result<#t> {
                    let n = ::tapeless::network::check_input(#name_str, x.shape(), &Self::INPUT_SHAPE)?;
                    #check
                    self.__forward(x, n)?;
                    let b = &mut self.__buffers;
                    let value = #compute.map_err(|e| e.in_layer(#lbl))?;
                    b.phase = ::tapeless::Phase::Loss(n);
                    Ok(value)
                }
            },
            dyn_target,
        )
    });
    let (loss_method, loss_dyn_body) = match loss_methods {
        Some((m, d)) => (
            m,
            quote!(let x = ::tapeless::network::into_rank(#name_str, "input batch", x)?; #d),
        ),
        None => (
            quote!(),
            quote! {
                let _ = (x, target);
                Err(::tapeless::Error::State {
                    network: #name_str.to_owned(),
                    message: "the network declares no loss; use forward() and backward_from()".to_owned(),
                })
            },
        ),
    };

    let zero_grads = param_layers.iter().map(|l| {
        let field = &l.name;
        quote! {
            self.#field.weight.zero_grad();
            if let Some(bias) = self.#field.bias.as_mut() {
                bias.zero_grad();
            }
        }
    });
    let visits = param_layers.iter().map(|l| {
        let field = &l.name;
        let (w, bias) = (format!("{field}.weight"), format!("{field}.bias"));
        quote! {
            f(#w, self.#field.weight.value.view().into_dyn(), self.#field.weight.grad.view().into_dyn());
            if let Some(p) = self.#field.bias.as_ref() {
                f(#bias, p.value.view().into_dyn(), p.grad.view().into_dyn());
            }
        }
    });
    let visits_mut = param_layers.iter().map(|l| {
        let field = &l.name;
        let (w, bias) = (format!("{field}.weight"), format!("{field}.bias"));
        quote! {
            {
                let p = &mut self.#field.weight;
                f(::tapeless::ParamMut { name: #w, value: p.value.view_mut().into_dyn(), grad: p.grad.view_mut().into_dyn() });
            }
            if let Some(p) = self.#field.bias.as_mut() {
                f(::tapeless::ParamMut { name: #bias, value: p.value.view_mut().into_dyn(), grad: p.grad.view_mut().into_dyn() });
            }
        }
    });

    let in_rank_doc = format!(
        " `[N, {}]`",
        input_dims
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );

    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#param_fields,)*
            __buffers: #buffers_ty,
        }

        /// Activations, im2col patches, argmax indices and gradients of the last batch, grown
        /// only when a larger batch arrives.
        #[doc(hidden)]
        #[derive(Clone, Debug, Default)]
        #[allow(non_camel_case_types, non_snake_case)]
        struct #buffers_ty {
            phase: ::tapeless::Phase,
            capacity: usize,
            input: ::tapeless::Buffer<#t>,
            #(#buffer_fields,)*
            grad0: ::tapeless::Buffer<#t>,
            grad1: ::tapeless::Buffer<#t>,
        }

        #[allow(clippy::too_many_lines, clippy::let_unit_value, unused_variables)]
        impl #name {
            /// Per-sample input shape, as declared.
            pub const INPUT_SHAPE: [usize; #in_rank] = #input_list;
            /// Per-sample output shape, inferred.
            pub const OUTPUT_SHAPE: [usize; #out_rank] = #output_list;
            /// Number of learnable scalars.
            pub const PARAMETERS: usize = #parameters;

            /// The network with PyTorch's default initialisation, drawn from `seed`.
            pub fn seeded(seed: u64) -> Self {
                let mut rng = ::tapeless::init::Rng::new(seed);
                Self {
                    #(#param_inits,)*
                    __buffers: ::core::default::Default::default(),
                }
            }

            /// Forward pass on a batch
            #[doc = #in_rank_doc]
            /// ; returns the output batch, a view of the network's own buffer.
            pub fn forward(
                &mut self,
                x: ::tapeless::ndarray::ArrayView<'_, #t, #in_dim>,
            ) -> ::tapeless::Result<::tapeless::ndarray::ArrayView<'_, #t, #out_dim>> {
                let n = ::tapeless::network::check_input(#name_str, x.shape(), &Self::INPUT_SHAPE)?;
                self.__forward(x, n)?;
                let b = &mut self.__buffers;
                b.phase = ::tapeless::Phase::Forward(n);
                Ok(b.#last_out.view(#out_shape))
            }

            #loss_method

            /// Adds the gradient of the last `loss` to every parameter's `grad`, as PyTorch's
            /// `loss.backward()` does. Errors (changing nothing) if there was no `loss` since the
            /// last `backward`.
            pub fn backward(&mut self) -> ::tapeless::Result<()> {
                let n = match self.__buffers.phase {
                    ::tapeless::Phase::Loss(n) => n,
                    phase => return Err(::tapeless::network::backward_without_loss(#name_str, phase)),
                };
                self.__backward(n)?;
                self.__buffers.phase = ::tapeless::Phase::Idle;
                Ok(())
            }

            /// Backward from a gradient of the output given by the caller (a custom loss), after
            /// `forward` or `loss` on a batch of the same size. Accumulates like `backward`.
            pub fn backward_from(
                &mut self,
                grad_output: ::tapeless::ndarray::ArrayView<'_, #t, #out_dim>,
            ) -> ::tapeless::Result<()> {
                let n = match self.__buffers.phase {
                    ::tapeless::Phase::Loss(n) | ::tapeless::Phase::Forward(n) => n,
                    phase => return Err(::tapeless::network::backward_without_loss(#name_str, phase)),
                };
                ::tapeless::network::check_values(#name_str, grad_output.shape(), n, &Self::OUTPUT_SHAPE)?;
                self.__buffers.grad0.copy_from(&grad_output);
                self.__backward(n)?;
                self.__buffers.phase = ::tapeless::Phase::Idle;
                Ok(())
            }

            /// Sets every parameter's gradient to zero.
            pub fn zero_grad(&mut self) {
                #(#zero_grads)*
            }

            /// A table of the layers, their output shapes and parameter counts.
            pub fn summary(&self) -> &'static str {
                #summary
            }

            /// Saves the parameters as safetensors, with PyTorch's names and layouts
            /// (`conv1.weight` `[out, in, kh, kw]`), loadable by `load_state_dict`.
            pub fn save(&self, path: impl AsRef<::std::path::Path>) -> ::tapeless::Result<()> {
                ::tapeless::io::save(self, path)
            }

            /// Loads parameters saved by [`save`](Self::save) or by PyTorch's
            /// `safetensors.torch.save_file(model.state_dict())`. On any mismatch (a missing,
            /// extra, misshaped or mistyped tensor, a corrupt file) returns an error naming it
            /// and leaves the network unchanged.
            pub fn load(&mut self, path: impl AsRef<::std::path::Path>) -> ::tapeless::Result<()> {
                ::tapeless::io::load(self, path)
            }

            fn __reserve(&mut self, n: usize) {
                let b = &mut self.__buffers;
                if n > b.capacity {
                    #(#reserves)*
                    b.grad0.reserve(n * #grad_len);
                    b.grad1.reserve(n * #grad_len);
                    b.capacity = n;
                }
            }

            fn __forward(
                &mut self,
                x: ::tapeless::ndarray::ArrayView<'_, #t, #in_dim>,
                n: usize,
            ) -> ::tapeless::Result<()> {
                self.__reserve(n);
                let b = &mut self.__buffers;
                b.phase = ::tapeless::Phase::Idle;
                #(#forward)*
                Ok(())
            }

            fn __backward(&mut self, n: usize) -> ::tapeless::Result<()> {
                let b = &mut self.__buffers;
                #(#backward)*
                Ok(())
            }
        }

        impl ::tapeless::Network for #name {
            type Elem = #t;
            const NAME: &'static str = #name_str;
            const INPUT_SHAPE: &'static [usize] = &#input_list;
            const OUTPUT_SHAPE: &'static [usize] = &#output_list;
            const PARAMETERS: usize = #parameters;

            fn visit_parameters(&self, f: &mut ::tapeless::network::ParamVisitor<'_, #t>) {
                #(#visits)*
            }

            fn visit_parameters_mut(&mut self, f: &mut dyn FnMut(::tapeless::ParamMut<'_, #t>)) {
                #(#visits_mut)*
            }

            fn forward_dyn(
                &mut self,
                x: ::tapeless::ndarray::ArrayViewD<'_, #t>,
            ) -> ::tapeless::Result<::tapeless::ndarray::ArrayViewD<'_, #t>> {
                let x = ::tapeless::network::into_rank(#name_str, "input batch", x)?;
                Ok(self.forward(x)?.into_dyn())
            }

            fn loss_dyn(
                &mut self,
                x: ::tapeless::ndarray::ArrayViewD<'_, #t>,
                target: ::tapeless::Target<'_, #t>,
            ) -> ::tapeless::Result<#t> {
                #loss_dyn_body
            }

            fn backward(&mut self) -> ::tapeless::Result<()> {
                #name::backward(self)
            }

            fn zero_grad(&mut self) {
                #name::zero_grad(self)
            }

            fn summary(&self) -> &'static str {
                #name::summary(self)
            }
        }
    }
}

/// A Keras-style table, computed at compile time.
fn summary(net: &Network) -> String {
    let dtype = match net.dtype {
        Dtype::F32 => "f32",
        Dtype::F64 => "f64",
    };
    let batch = |dims: &[usize]| {
        let d: Vec<String> = dims.iter().map(usize::to_string).collect();
        format!("[N, {}]", d.join(", "))
    };
    let mut rows = vec![(
        "input (Input)".to_owned(),
        batch(&net.input),
        "0".to_owned(),
    )];
    for l in &net.layers {
        rows.push((
            format!("{} ({})", l.name, l.kind.type_name()),
            batch(&l.output),
            thousands(l.kind.parameters(&l.input)),
        ));
    }
    if let Some(loss) = &net.loss {
        let reduction = match loss.reduction {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        };
        rows.push((
            format!("{} ({})", loss.name, loss.kind.type_name()),
            format!("[] ({reduction})"),
            "0".to_owned(),
        ));
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(12) + 2;
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(12) + 2;
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(7);
    let width = w0 + w1 + w2;
    let mut s = format!("Model: {} ({dtype})\n", net.name);
    s += &format!(
        "{:<w0$}{:<w1$}{:>w2$}\n",
        "Layer (type)", "Output Shape", "Param #"
    );
    s += &"=".repeat(width);
    s.push('\n');
    for (a, b, c) in &rows {
        s += &format!("{a:<w0$}{b:<w1$}{c:>w2$}\n");
    }
    s += &"=".repeat(width);
    s += &format!("\nTotal params: {}\n", thousands(net.parameters()));
    s
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// After errors: the struct, its methods and its `Network` impl under the declared name, taking
/// any arguments, so that only the real errors show. Never runs: the compile has already failed.
pub fn placeholder(header: &Header) -> TokenStream {
    let Header {
        attrs,
        vis,
        name,
        dtype,
        ..
    } = header;
    let t = elem(*dtype);
    let name_str = name.to_string();
    quote! {
        #(#attrs)*
        #vis struct #name {}

        #[allow(dead_code, unused_variables, clippy::all)]
        impl #name {
            pub const INPUT_SHAPE: [usize; 0] = [];
            pub const OUTPUT_SHAPE: [usize; 0] = [];
            pub const PARAMETERS: usize = 0;
            pub fn seeded(seed: u64) -> Self { unreachable!() }
            pub fn forward<X>(&mut self, x: X) -> ::tapeless::Result<::tapeless::ndarray::ArrayViewD<'_, #t>> { unreachable!() }
            pub fn loss<X, Y>(&mut self, x: X, y: Y) -> ::tapeless::Result<#t> { unreachable!() }
            pub fn backward(&mut self) -> ::tapeless::Result<()> { unreachable!() }
            pub fn backward_from<G>(&mut self, g: G) -> ::tapeless::Result<()> { unreachable!() }
            pub fn zero_grad(&mut self) { unreachable!() }
            pub fn summary(&self) -> &'static str { unreachable!() }
            pub fn save<P>(&self, path: P) -> ::tapeless::Result<()> { unreachable!() }
            pub fn load<P>(&mut self, path: P) -> ::tapeless::Result<()> { unreachable!() }
        }

        #[allow(unused_variables, clippy::all)]
        impl ::tapeless::Network for #name {
            type Elem = #t;
            const NAME: &'static str = #name_str;
            const INPUT_SHAPE: &'static [usize] = &[];
            const OUTPUT_SHAPE: &'static [usize] = &[];
            const PARAMETERS: usize = 0;
            fn visit_parameters(&self, f: &mut ::tapeless::network::ParamVisitor<'_, #t>) { unreachable!() }
            fn visit_parameters_mut(&mut self, f: &mut dyn FnMut(::tapeless::ParamMut<'_, #t>)) { unreachable!() }
            fn forward_dyn(&mut self, x: ::tapeless::ndarray::ArrayViewD<'_, #t>) -> ::tapeless::Result<::tapeless::ndarray::ArrayViewD<'_, #t>> { unreachable!() }
            fn loss_dyn(&mut self, x: ::tapeless::ndarray::ArrayViewD<'_, #t>, target: ::tapeless::Target<'_, #t>) -> ::tapeless::Result<#t> { unreachable!() }
            fn backward(&mut self) -> ::tapeless::Result<()> { unreachable!() }
            fn summary(&self) -> &'static str { unreachable!() }
        }
    }
}
