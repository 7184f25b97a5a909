//! Check: give meaning to the raw entries and infer every shape, with PyTorch's formulas.
//! Every violation becomes a `syn::Error` at the span of the offending tokens; checking goes on
//! after an error (with the best shape it can still infer), so one compile reports them all.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Attribute, Ident, LitInt, Visibility};

use crate::model::{
    Activation, Dtype, Layer, LayerKind, Loss, LossKind, Network, Reduction, Window,
};
use crate::parse::{RawBody, RawLayer, RawNetwork, RawOption, RawShape, RawValue};

/// What codegen needs to emit a placeholder struct when the network has errors, so the user's
/// other code does not drown in secondary errors.
pub struct Header {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub dtype: Dtype,
}

const LAYERS: &[&str] = &[
    "Linear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "MSE",
    "CrossEntropy",
    "BCEWithLogits",
];

pub fn check(raw: RawNetwork) -> Result<Network, (Header, Vec<syn::Error>)> {
    let mut cx = Checker {
        errors: raw.errors,
        shape: None,
        producer: "the input".to_owned(),
        factors: None,
    };
    let (attrs, dtype) = cx.dtype(raw.attrs);
    let header = Header {
        attrs,
        vis: raw.vis,
        name: raw.name,
        dtype,
    };
    if raw.entries.is_empty() && cx.errors.is_empty() {
        let message = format!(
            "`{}` is empty: it needs `input: [..]` and at least one layer",
            header.name
        );
        cx.error(header.name.span(), message);
        return Err((header, cx.errors));
    }

    let mut input = None;
    let mut layers = Vec::new();
    let mut loss: Option<Loss> = None;
    let mut seen: HashSet<String> = HashSet::new();
    // Whether the first entry was already reported as not being `input`.
    let mut first_reported = false;
    // Layer entries as written, whether or not they checked out.
    let mut layer_entries = 0usize;

    for (index, entry) in raw.entries.into_iter().enumerate() {
        let layer = match entry.body {
            RawBody::Broken => {
                // Its error is reported; what flows past it is unknown.
                layer_entries += 1;
                first_reported |= index == 0;
                cx.produce(None, None);
                continue;
            }
            RawBody::Shape(shape) if entry.name == "input" => {
                if index != 0 {
                    cx.error(entry.name.span(), "`input` must be the first entry");
                }
                let dims = cx.dims(&shape);
                if dims.len() > 5 {
                    cx.error(
                        shape.span,
                        "the input may have at most 5 dimensions per sample",
                    );
                }
                cx.shape = Some(dims.clone());
                input = Some(dims);
                continue;
            }
            RawBody::Shape(shape) => {
                let message = format!(
                    "only `input` takes a shape; `{}` needs a layer, e.g. `Linear<784, 128>`",
                    entry.name
                );
                cx.error(shape.span, message);
                continue;
            }
            RawBody::Layer(layer) => layer,
        };
        let name = entry.name;
        if entry_is_input(&name) {
            cx.error(
                layer.kind.span(),
                "`input` declares the per-sample input shape, e.g. `input: [1, 28, 28]`",
            );
            continue;
        }
        if !seen.insert(name.to_string()) {
            cx.error(
                name.span(),
                format!(
                    "duplicate entry name `{name}`: each entry needs its own name (it names the \
                     layer's parameters, e.g. `{name}.weight`)"
                ),
            );
        }
        if let Some(l) = &loss {
            cx.error(
                name.span(),
                format!(
                    "the loss must be the last entry, but `{name}` comes after `{}`",
                    l.name
                ),
            );
        }
        layer_entries += 1;
        if index == 0 {
            first_reported = true;
            cx.error(
                name.span(),
                "the first entry must be `input: [..]`, the per-sample input shape, e.g. \
                 `input: [1, 28, 28],`",
            );
            // Keep checking the layers' own arguments, with no known input shape.
        }
        if let Some(kind) = loss_kind(&layer) {
            let reduction = cx.loss(&name, &layer, kind);
            loss = Some(Loss {
                name,
                kind,
                reduction,
            });
        } else if let Some(l) = cx.layer(name, &layer) {
            layers.push(l);
        }
    }
    if input.is_none() && !first_reported {
        cx.error(
            header.name.span(),
            "missing `input: [..]` as the first entry: the per-sample input shape, e.g. \
             `input: [1, 28, 28],`",
        );
    }
    let loss_entries = usize::from(loss.is_some());
    if layer_entries == loss_entries {
        cx.error(
            header.name.span(),
            format!("`{}` declares no layers", header.name),
        );
    }
    match (cx.errors.is_empty(), input) {
        (true, Some(input)) => Ok(Network {
            attrs: header.attrs,
            vis: header.vis,
            name: header.name,
            dtype: header.dtype,
            input,
            layers,
            loss,
        }),
        _ => Err((header, cx.errors)),
    }
}

fn entry_is_input(name: &Ident) -> bool {
    name == "input"
}

fn loss_kind(layer: &RawLayer) -> Option<LossKind> {
    match layer.kind.to_string().as_str() {
        "MSE" => Some(LossKind::Mse),
        "CrossEntropy" => Some(LossKind::CrossEntropy),
        "BCEWithLogits" => Some(LossKind::BceWithLogits),
        _ => None,
    }
}

struct Checker {
    errors: Vec<syn::Error>,
    /// The per-sample shape flowing into the next entry; `None` after an error that leaves it
    /// unknown (then shape checks downstream are skipped rather than guessed).
    shape: Option<Vec<usize>>,
    /// Who produced `shape`, for messages: "the input" or "`pool2`".
    producer: String,
    /// The dims a Flatten multiplied into `shape`, for "(= 32 x 7 x 7)".
    factors: Option<Vec<usize>>,
}

impl Checker {
    fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// An error spanning all of `tokens` (e.g. `<784>` or `-0.5`), not just their first token.
    fn error_at(&mut self, tokens: &dyn ToTokens, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// "the input has" / "`pool1` produces", for messages about the incoming shape.
    fn source(&self) -> String {
        if self.producer == "the input" {
            "the input has".to_owned()
        } else {
            format!("{} produces", self.producer)
        }
    }

    /// Splits `#[dtype(f32 | f64)]` from the attributes passed through to the struct.
    fn dtype(&mut self, attrs: Vec<Attribute>) -> (Vec<Attribute>, Dtype) {
        let mut dtype = Dtype::F32;
        let mut kept = Vec::new();
        for attr in attrs {
            if !attr.path().is_ident("dtype") {
                kept.push(attr);
                continue;
            }
            match attr.parse_args::<TokenStream>() {
                Ok(t) if t.to_string() == "f32" => dtype = Dtype::F32,
                Ok(t) if t.to_string() == "f64" => dtype = Dtype::F64,
                Ok(t) if !t.is_empty() => {
                    let message = format!(
                        "unsupported dtype `{t}`: expected `#[dtype(f32)]` or `#[dtype(f64)]`"
                    );
                    self.error_at(&t, message);
                }
                _ => self.error_at(&attr, "expected `#[dtype(f32)]` or `#[dtype(f64)]`"),
            }
        }
        (kept, dtype)
    }

    fn dim(&mut self, lit: &LitInt) -> Option<usize> {
        match lit.base10_parse::<usize>() {
            Ok(0) => {
                self.error(lit.span(), "a dimension must be at least 1, found 0");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// The dims of a shape; zero or malformed dims are reported and replaced by 1 so checking
    /// can go on.
    fn dims(&mut self, shape: &RawShape) -> Vec<usize> {
        if shape.dims.is_empty() {
            self.error(shape.span, "a shape needs at least one dimension");
        }
        shape
            .dims
            .iter()
            .map(|d| self.dim(d).unwrap_or(1))
            .collect()
    }

    fn loss(&mut self, name: &Ident, layer: &RawLayer, kind: LossKind) -> Reduction {
        self.no_args(layer);
        if let Some(a) = &layer.annotation {
            self.error(
                a.span,
                "a loss produces a scalar; it takes no `-> [..]` annotation",
            );
        }
        let mut options = self.options(name, layer, &["reduction"]);
        let reduction = match options.remove("reduction") {
            None => Reduction::Mean,
            Some(o) => match &o.value {
                RawValue::Word(w) if w == "mean" => Reduction::Mean,
                RawValue::Word(w) if w == "sum" => Reduction::Sum,
                _ => {
                    let message = format!(
                        "`reduction` of `{name}` expects `mean` or `sum`, found `{}`",
                        o.tokens
                    );
                    self.error_at(&o.tokens, message);
                    Reduction::Mean
                }
            },
        };
        if kind == LossKind::CrossEntropy {
            if let Some(shape) = self.shape.clone() {
                if shape.len() != 1 {
                    let message = format!(
                        "`{name}` (CrossEntropy) takes logits of shape [classes], but {} {}; \
                         add `Flatten` and a `Linear` layer to the number of classes",
                        self.source(),
                        fmt_shape(&shape)
                    );
                    self.error(layer.kind.span(), message);
                }
            }
        }
        reduction
    }

    fn layer(&mut self, name: Ident, layer: &RawLayer) -> Option<Layer> {
        let input = self.shape.clone();
        let kind = match layer.kind.to_string().as_str() {
            "Linear" => self.linear(&name, layer),
            "Conv2d" => self.conv2d(&name, layer),
            "MaxPool2d" => self.pool(&name, layer, true),
            "AvgPool2d" => self.pool(&name, layer, false),
            "Flatten" => self.flatten(&name, layer),
            "ReLU" | "Sigmoid" | "Tanh" | "LeakyReLU" => self.activation(&name, layer),
            other => {
                let hint = suggestion(other)
                    .map_or_else(String::new, |s| format!("; did you mean `{s}`?"));
                self.error(
                    layer.kind.span(),
                    format!(
                        "unknown layer `{other}`{hint} (layers: {})",
                        LAYERS.join(", ")
                    ),
                );
                self.produce(None, None);
                None
            }
        };
        if let (Some(annotation), Some(shape)) = (&layer.annotation, self.shape.clone()) {
            let declared = self.dims(annotation);
            if declared != shape {
                let message = format!(
                    "`{name}` produces {}, not {} as annotated",
                    fmt_shape(&shape),
                    fmt_shape(&declared)
                );
                self.error(annotation.span, message);
            }
        }
        self.producer = format!("`{name}`");
        let kind = kind?;
        let output = self.shape.clone()?;
        Some(Layer {
            name,
            kind,
            written: written(layer),
            input: input?,
            output,
        })
    }

    /// Sets the flowing shape after a layer; `factors` survives only shape-preserving layers.
    fn produce(&mut self, shape: Option<Vec<usize>>, factors: Option<Vec<usize>>) {
        self.shape = shape;
        self.factors = factors;
    }

    fn linear(&mut self, name: &Ident, layer: &RawLayer) -> Option<LayerKind> {
        let args = self.args(
            layer,
            "Linear",
            "2 arguments `<IN, OUT>`, e.g. `Linear<784, 128>`",
            &[2],
        );
        let mut options = self.options(name, layer, &["bias"]);
        let bias = self.flag(name, options.remove("bias"), true);
        let Some(args) = args else {
            self.produce(None, None);
            return None;
        };
        let (inputs, outputs) = (args[0], args[1]);
        if let Some(shape) = self.shape.clone() {
            if shape.len() != 1 {
                let message = format!(
                    "`{name}` (Linear) takes a flat input of features, but {} {}; add `Flatten` \
                     before it, e.g. `flat: Flatten,`",
                    self.source(),
                    fmt_shape(&shape)
                );
                self.error(layer.kind.span(), message);
            } else if shape[0] != inputs.0 {
                let factors = match &self.factors {
                    Some(f) if f.len() > 1 => format!(" (= {})", join(f, " x ")),
                    _ => String::new(),
                };
                let message = format!(
                    "`{name}` expects {} input feature{}, but {} {}{factors}",
                    inputs.0,
                    plural(inputs.0),
                    self.source(),
                    shape[0]
                );
                self.error(inputs.1, message);
            }
        }
        self.produce(Some(vec![outputs.0]), None);
        Some(LayerKind::Linear {
            inputs: inputs.0,
            outputs: outputs.0,
            bias,
        })
    }

    fn conv2d(&mut self, name: &Ident, layer: &RawLayer) -> Option<LayerKind> {
        let args = self.args(
            layer,
            "Conv2d",
            "3 or 4 arguments `<CIN, COUT, K>` or `<CIN, COUT, KH, KW>`, e.g. `Conv2d<1, 16, 3>`",
            &[3, 4],
        );
        let mut options = self.options(name, layer, &["stride", "padding", "dilation", "bias"]);
        let stride = self.pair(name, options.remove("stride"), (1, 1), 1);
        let padding = self.pair(name, options.remove("padding"), (0, 0), 0);
        let dilation = self.pair(name, options.remove("dilation"), (1, 1), 1);
        let bias = self.flag(name, options.remove("bias"), true);
        let Some(args) = args else {
            self.produce(None, None);
            return None;
        };
        let (cin, cout) = (args[0], args[1]);
        let kernel = match args.get(3) {
            Some(kw) => (args[2].0, kw.0),
            None => (args[2].0, args[2].0),
        };
        let window = Window {
            kernel,
            stride,
            padding,
            dilation,
        };
        let out = match self.shape.clone() {
            Some(shape) if shape.len() == 3 => {
                if shape[0] != cin.0 {
                    let message = format!(
                        "`{name}` expects {} input channel{}, but {} {} ({})",
                        cin.0,
                        plural(cin.0),
                        self.source(),
                        shape[0],
                        fmt_shape(&shape)
                    );
                    self.error(cin.1, message);
                }
                self.window_output(name, &window, &shape, args[2].1)
                    .map(|(h, w)| vec![cout.0, h, w])
            }
            Some(shape) => {
                let message = format!(
                    "`{name}` (Conv2d) takes a [channels, height, width] input, but {} {}",
                    self.source(),
                    fmt_shape(&shape)
                );
                self.error(layer.kind.span(), message);
                None
            }
            None => None,
        };
        self.produce(out, None);
        Some(LayerKind::Conv2d {
            in_channels: cin.0,
            out_channels: cout.0,
            window,
            bias,
        })
    }

    fn pool(&mut self, name: &Ident, layer: &RawLayer, max: bool) -> Option<LayerKind> {
        let type_name = if max { "MaxPool2d" } else { "AvgPool2d" };
        let usage = format!("1 or 2 arguments `<K>` or `<KH, KW>`, e.g. `{type_name}<2>`");
        let args = self.args(layer, type_name, &usage, &[1, 2]);
        let allowed: &[&str] = if max {
            &["stride", "padding", "dilation"]
        } else {
            &["stride", "padding"]
        };
        let mut options = self.options(name, layer, allowed);
        let stride_option = options.remove("stride");
        let padding_option = options.remove("padding");
        let padding_tokens = padding_option.as_ref().map(|o| o.tokens.clone());
        let dilation = self.pair(name, options.remove("dilation"), (1, 1), 1);
        let Some(args) = args else {
            self.produce(None, None);
            return None;
        };
        let kernel = match args.get(1) {
            Some(kw) => (args[0].0, kw.0),
            None => (args[0].0, args[0].0),
        };
        let stride = self.pair(name, stride_option, kernel, 1);
        let padding = self.pair(name, padding_option, (0, 0), 0);
        if 2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1 {
            let message = format!(
                "`{name}`: padding {} must be at most half the kernel {} (PyTorch's rule for pooling)",
                fmt_pair(padding),
                fmt_pair(kernel)
            );
            match padding_tokens {
                Some(t) => self.error_at(&t, message),
                None => self.error(layer.kind.span(), message),
            }
        }
        let window = Window {
            kernel,
            stride,
            padding,
            dilation,
        };
        let out = match self.shape.clone() {
            Some(shape) if shape.len() == 3 => self
                .window_output(name, &window, &shape, args[0].1)
                .map(|(h, w)| vec![shape[0], h, w]),
            Some(shape) => {
                let message = format!(
                    "`{name}` ({type_name}) takes a [channels, height, width] input, but {} {}",
                    self.source(),
                    fmt_shape(&shape)
                );
                self.error(layer.kind.span(), message);
                None
            }
            None => None,
        };
        self.produce(out, None);
        Some(if max {
            LayerKind::MaxPool2d(window)
        } else {
            LayerKind::AvgPool2d(window)
        })
    }

    /// The output size of a window over `[C, H, W]`, or an error at the kernel's span.
    fn window_output(
        &mut self,
        name: &Ident,
        w: &Window,
        shape: &[usize],
        span: Span,
    ) -> Option<(usize, usize)> {
        let out = w.output_size((shape[1], shape[2]));
        if out.is_none() {
            let dilated = if w.dilation == (1, 1) {
                String::new()
            } else {
                format!(
                    " with dilation {} spans {}x{} and",
                    fmt_pair(w.dilation),
                    w.dilation.0 * (w.kernel.0 - 1) + 1,
                    w.dilation.1 * (w.kernel.1 - 1) + 1
                )
            };
            let padded = if w.padding == (0, 0) {
                String::new()
            } else {
                format!(" padded by {}", fmt_pair(w.padding))
            };
            let message = format!(
                "`{name}`: the {} kernel{dilated} does not fit in its {}x{} input{padded}, so the \
                 output would be empty",
                fmt_pair(w.kernel),
                shape[1],
                shape[2],
            );
            self.error(span, message);
        }
        out
    }

    fn flatten(&mut self, name: &Ident, layer: &RawLayer) -> Option<LayerKind> {
        self.no_args(layer);
        self.options(name, layer, &[]);
        match self.shape.clone() {
            Some(shape) => {
                let features = shape.iter().product::<usize>();
                self.produce(Some(vec![features]), Some(shape));
            }
            None => self.produce(None, None),
        }
        Some(LayerKind::Flatten)
    }

    fn activation(&mut self, name: &Ident, layer: &RawLayer) -> Option<LayerKind> {
        self.no_args(layer);
        let kind = layer.kind.to_string();
        let allowed: &[&str] = if kind == "LeakyReLU" { &["slope"] } else { &[] };
        let mut options = self.options(name, layer, allowed);
        let activation = match kind.as_str() {
            "ReLU" => Activation::ReLU,
            "Sigmoid" => Activation::Sigmoid,
            "Tanh" => Activation::Tanh,
            _ => Activation::LeakyReLU(self.slope(name, options.remove("slope"))),
        };
        // Same shape out as in; a Flatten's factors still explain it.
        Some(LayerKind::Activation(activation))
    }

    fn slope(&mut self, name: &Ident, option: Option<RawOption>) -> f64 {
        let Some(option) = option else {
            return 0.01; // PyTorch's default negative_slope
        };
        match &option.value {
            RawValue::Float(value) if *value >= 0.0 && value.is_finite() => *value,
            RawValue::Int(i) if i.base10_parse::<f64>().is_ok() => {
                i.base10_parse::<f64>().unwrap_or(0.01)
            }
            _ => {
                let message = format!(
                    "`slope` of `{name}` (LeakyReLU) must be a number ≥ 0, e.g. `slope = 0.01`; \
                     found `{}` (tapeless computes LeakyReLU's gradient from its output, which \
                     needs a slope ≥ 0)",
                    value_text(&option.tokens)
                );
                self.error_at(&option.tokens, message);
                0.01
            }
        }
    }

    /// The integer arguments `<...>`, with their spans, if their count is one of `counts`.
    fn args(
        &mut self,
        layer: &RawLayer,
        type_name: &str,
        usage: &str,
        counts: &[usize],
    ) -> Option<Vec<(usize, Span)>> {
        let values: Vec<(Option<usize>, Span)> =
            layer.args.iter().map(|a| (self.dim(a), a.span())).collect();
        if !counts.contains(&values.len()) {
            let n = values.len();
            let message = format!("`{type_name}` takes {usage}; found {n}");
            match &layer.args_tokens {
                Some(t) => self.error_at(t, message),
                None => self.error(layer.kind.span(), message),
            }
            return None;
        }
        values.into_iter().map(|(v, s)| v.map(|v| (v, s))).collect()
    }

    fn no_args(&mut self, layer: &RawLayer) {
        if let Some(t) = &layer.args_tokens {
            let message = format!("`{}` takes no `<...>` arguments", layer.kind);
            self.error_at(t, message);
        }
    }

    /// The layer's options by key; unknown and repeated keys are reported.
    fn options(
        &mut self,
        name: &Ident,
        layer: &RawLayer,
        allowed: &[&str],
    ) -> HashMap<String, RawOption> {
        let mut found: HashMap<String, RawOption> = HashMap::new();
        for option in &layer.options {
            let key = &option.key;
            let k = key.to_string();
            if !allowed.contains(&k.as_str()) {
                let expected = if allowed.is_empty() {
                    format!("`{}` takes no options", layer.kind)
                } else {
                    format!("expected one of: {}", allowed.join(", "))
                };
                self.error(
                    key.span(),
                    format!(
                        "unknown option `{k}` for `{name}` ({}); {expected}",
                        layer.kind
                    ),
                );
                continue;
            }
            match found.entry(k) {
                Entry::Vacant(slot) => {
                    slot.insert(option.clone());
                }
                Entry::Occupied(slot) => {
                    let message = format!("option `{}` of `{name}` is given twice", slot.key());
                    self.error(key.span(), message);
                }
            }
        }
        found
    }

    /// An option that is an integer or an `(h, w)` pair, each at least `min`.
    fn pair(
        &mut self,
        layer: &Ident,
        option: Option<RawOption>,
        default: (usize, usize),
        min: usize,
    ) -> (usize, usize) {
        let Some(option) = option else {
            return default;
        };
        let parse = |l: &LitInt| l.base10_parse::<usize>().ok();
        let pair = match &option.value {
            RawValue::Int(i) => parse(i).map(|v| (v, v)),
            RawValue::Pair(h, w) => parse(h).zip(parse(w)),
            _ => None,
        };
        let key = &option.key;
        let message = match pair {
            Some((h, w)) if h >= min && w >= min => return (h, w),
            Some(_) => format!(
                "`{key}` of `{layer}` must be at least {min}, found `{}`",
                option.tokens
            ),
            None => format!(
                "`{key}` of `{layer}` expects an integer or a pair `(h, w)`, found `{}`",
                option.tokens
            ),
        };
        self.error_at(&option.tokens, message);
        default
    }

    fn flag(&mut self, layer: &Ident, option: Option<RawOption>, default: bool) -> bool {
        let Some(option) = option else {
            return default;
        };
        if let RawValue::Bool(b) = &option.value {
            return b.value;
        }
        let message = format!(
            "`{}` of `{layer}` expects `true` or `false`, found `{}`",
            option.key, option.tokens
        );
        self.error_at(&option.tokens, message);
        default
    }
}

/// An option's value as the user wrote it (`-0.5`, not the token printer's `- 0.5`).
fn value_text(tokens: &TokenStream) -> String {
    tokens.to_string().replacen("- ", "-", 1)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The closest known layer name: same letters in another case, or at most two edits away.
fn suggestion(name: &str) -> Option<&'static str> {
    LAYERS
        .iter()
        .find(|l| l.eq_ignore_ascii_case(name))
        .or_else(|| {
            LAYERS
                .iter()
                .map(|l| (edit_distance(&l.to_lowercase(), &name.to_lowercase()), l))
                .filter(|(d, _)| *d <= 2)
                .min_by_key(|(d, _)| *d)
                .map(|(_, l)| l)
        })
        .copied()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The layer as written, for the struct's docs and the summary: `Conv2d<1, 16, 3>(padding = 1)`.
fn written(layer: &RawLayer) -> String {
    let mut s = layer.kind.to_string();
    if !layer.args.is_empty() {
        let args: Vec<String> = layer.args.iter().map(|a| a.to_string()).collect();
        s += &format!("<{}>", args.join(", "));
    }
    if !layer.options.is_empty() {
        let options: Vec<String> = layer
            .options
            .iter()
            .map(|o| format!("{} = {}", o.key, value_text(&o.tokens)))
            .collect();
        s += &format!("({})", options.join(", "));
    }
    s
}

pub fn fmt_shape(dims: &[usize]) -> String {
    format!("[{}]", join(dims, ", "))
}

fn fmt_pair((h, w): (usize, usize)) -> String {
    format!("{h}x{w}")
}

fn join(dims: &[usize], sep: &str) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}
