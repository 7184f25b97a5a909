//! Check: give meaning to the raw entries and infer every shape, with PyTorch's formulas.
//! Every violation becomes a `syn::Error` at the span of the offending tokens; checking goes on
//! after an error (with the best shape it can still infer), so one compile reports them all.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, Visibility};

use crate::model::{
    Activation, Dtype, Layer, LayerKind, Loss, LossKind, Network, Reduction, Window,
};
use crate::parse::{RawBody, RawEntry, RawLayer, RawNetwork, RawOption, RawShape, RawValue};

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
    let mut input = None;
    let mut layers = Vec::new();
    let mut loss: Option<Loss> = None;
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut first_reported = false;

    for (index, entry) in raw.entries.into_iter().enumerate() {
        let name = entry.name.to_string();
        if seen.insert(name.clone(), entry.name.span()).is_some() {
            cx.error(
                entry.name.span(),
                format!(
                    "duplicate entry name `{name}`: each entry needs its own name (it names the \
                     layer's parameters, e.g. `{name}.weight`)"
                ),
            );
        }
        if let Some(l) = &loss {
            cx.error(
                entry.name.span(),
                format!(
                    "the loss must be the last entry, but `{name}` comes after `{}`",
                    l.name
                ),
            );
        }
        match (name.as_str(), entry.body) {
            ("input", RawBody::Shape(shape)) => {
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
            }
            ("input", RawBody::Layer(layer)) => cx.error(
                layer.kind.span(),
                "`input` declares the per-sample input shape, e.g. `input: [1, 28, 28]`",
            ),
            (_, RawBody::Shape(shape)) => cx.error(
                shape.span,
                format!(
                    "only `input` takes a shape; `{name}` needs a layer, e.g. `Linear<784, 128>`"
                ),
            ),
            (_, RawBody::Layer(layer)) => {
                if index == 0 {
                    first_reported = true;
                    cx.error(
                        entry.name.span(),
                        "the first entry must be `input: [..]`, the per-sample input shape, e.g. \
                         `input: [1, 28, 28],`",
                    );
                    // Keep checking the layers' own arguments, with no known input shape.
                }
                let entry_name = entry.name.clone();
                if let Some(kind) = cx.loss_kind(&layer) {
                    let reduction = cx.loss(&entry_name, &layer, kind);
                    loss = Some(Loss {
                        name: entry_name,
                        kind,
                        reduction,
                    });
                } else if let Some(l) = cx.layer(RawEntry {
                    name: entry_name,
                    body: RawBody::Layer(layer),
                }) {
                    layers.push(l);
                }
            }
        }
    }
    if input.is_none() && !first_reported {
        cx.error(
            header.name.span(),
            "missing `input: [..]` as the first entry: the per-sample input shape, e.g. `input: [1, 28, 28],`",
        );
    }
    if layers.is_empty() {
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

    /// Splits `#[dtype(f32 | f64)]` from the attributes passed through to the struct.
    fn dtype(&mut self, attrs: Vec<Attribute>) -> (Vec<Attribute>, Dtype) {
        let mut dtype = Dtype::F32;
        let mut kept = Vec::new();
        for attr in attrs {
            if !attr.path().is_ident("dtype") {
                kept.push(attr);
                continue;
            }
            match attr.parse_args::<Ident>() {
                Ok(t) if t == "f32" => dtype = Dtype::F32,
                Ok(t) if t == "f64" => dtype = Dtype::F64,
                _ => self.error(attr.span(), "expected `#[dtype(f32)]` or `#[dtype(f64)]`"),
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

    fn loss_kind(&self, layer: &RawLayer) -> Option<LossKind> {
        match layer.kind.to_string().as_str() {
            "MSE" => Some(LossKind::Mse),
            "CrossEntropy" => Some(LossKind::CrossEntropy),
            "BCEWithLogits" => Some(LossKind::BceWithLogits),
            _ => None,
        }
    }

    fn loss(&mut self, name: &Ident, layer: &RawLayer, kind: LossKind) -> Reduction {
        self.no_args(layer);
        self.no_annotation(layer);
        let mut options = self.options(name, layer, &["reduction"]);
        let reduction = match options.remove("reduction") {
            None => Reduction::Mean,
            Some(RawValue::Word(w)) if w == "mean" => Reduction::Mean,
            Some(RawValue::Word(w)) if w == "sum" => Reduction::Sum,
            Some(v) => {
                self.error(v.span(), "expected `reduction = mean` or `reduction = sum`");
                Reduction::Mean
            }
        };
        if kind == LossKind::CrossEntropy {
            if let Some(shape) = &self.shape {
                if shape.len() != 1 {
                    let message = format!(
                        "`{name}` (CrossEntropy) takes logits of shape [classes], but {} produces {}; \
                         add `Flatten` and a `Linear` layer to the number of classes",
                        self.producer,
                        fmt_shape(shape)
                    );
                    self.error(layer.kind.span(), message);
                }
            }
        }
        reduction
    }

    fn layer(&mut self, entry: RawEntry) -> Option<Layer> {
        let RawBody::Layer(layer) = entry.body else {
            return None;
        };
        let name = entry.name;
        let written = written(&layer);
        let input = self.shape.clone();
        let kind = match layer.kind.to_string().as_str() {
            "Linear" => self.linear(&name, &layer),
            "Conv2d" => self.conv2d(&name, &layer),
            "MaxPool2d" => self.pool(&name, &layer, true),
            "AvgPool2d" => self.pool(&name, &layer, false),
            "Flatten" => self.flatten(&name, &layer),
            "ReLU" | "Sigmoid" | "Tanh" | "LeakyReLU" => self.activation(&name, &layer),
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
                self.shape = None;
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
            written,
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
        let args = self.args(layer, "Linear", "<IN, OUT>, e.g. `Linear<784, 128>`", &[2]);
        let mut options = self.options(name, layer, &["bias"]);
        let bias = self.flag(options.remove("bias"), true);
        let Some(args) = args else {
            self.produce(None, None);
            return None;
        };
        let (inputs, outputs) = (args[0], args[1]);
        if let Some(shape) = self.shape.clone() {
            if shape.len() != 1 {
                let message = format!(
                    "`{name}` (Linear) takes a flat input of features, but {} produces {}; add \
                     `Flatten` before it, e.g. `flat: Flatten,`",
                    self.producer,
                    fmt_shape(&shape)
                );
                self.error(layer.kind.span(), message);
            } else if shape[0] != inputs.0 {
                let factors = match &self.factors {
                    Some(f) if f.len() > 1 => format!(" (= {})", join(f, " x ")),
                    _ => String::new(),
                };
                let message = format!(
                    "`{name}` expects {} input features, but {} produces {}{factors}",
                    inputs.0, self.producer, shape[0]
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
            "<CIN, COUT, K> or <CIN, COUT, KH, KW>, e.g. `Conv2d<1, 16, 3>`",
            &[3, 4],
        );
        let mut options = self.options(name, layer, &["stride", "padding", "dilation", "bias"]);
        let stride = self.pair(options.remove("stride"), (1, 1), 1);
        let padding = self.pair(options.remove("padding"), (0, 0), 0);
        let dilation = self.pair(options.remove("dilation"), (1, 1), 1);
        let bias = self.flag(options.remove("bias"), true);
        let Some(args) = args else {
            self.produce(None, None);
            return None;
        };
        let (cin, cout) = (args[0], args[1]);
        let kernel = if args.len() == 3 {
            (args[2].0, args[2].0)
        } else {
            (args[2].0, args[3].0)
        };
        let window = Window {
            kernel,
            stride,
            padding,
            dilation,
        };
        let kernel_span = args[2].1;
        let out = match self.shape.clone() {
            Some(shape) if shape.len() == 3 => {
                if shape[0] != cin.0 {
                    let message = format!(
                        "`{name}` expects {} input channels, but {} produces {} ({})",
                        cin.0,
                        self.producer,
                        shape[0],
                        fmt_shape(&shape)
                    );
                    self.error(cin.1, message);
                }
                self.window_output(name, &window, &shape, kernel_span)
                    .map(|(h, w)| vec![cout.0, h, w])
            }
            Some(shape) => {
                let message = format!(
                    "`{name}` (Conv2d) takes a [channels, height, width] input, but {} produces {}",
                    self.producer,
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
        let usage = format!("<K> or <KH, KW>, e.g. `{type_name}<2>`");
        let args = self.args(layer, type_name, &usage, &[1, 2]);
        let allowed: &[&str] = if max {
            &["stride", "padding", "dilation"]
        } else {
            &["stride", "padding"]
        };
        let mut options = self.options(name, layer, allowed);
        let stride_value = options.remove("stride");
        let padding_value = options.remove("padding");
        let padding_span = padding_value.as_ref().map(RawValue::span);
        let dilation = self.pair(options.remove("dilation"), (1, 1), 1);
        let Some(args) = args else {
            self.produce(None, None);
            return None;
        };
        let kernel = if args.len() == 1 {
            (args[0].0, args[0].0)
        } else {
            (args[0].0, args[1].0)
        };
        let stride = self.pair(stride_value, kernel, 1);
        let padding = self.pair(padding_value, (0, 0), 0);
        if 2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1 {
            self.error(
                padding_span.unwrap_or_else(|| layer.kind.span()),
                format!(
                    "`{name}`: padding {} must be at most half the kernel {} (PyTorch's rule for pooling)",
                    fmt_pair(padding),
                    fmt_pair(kernel)
                ),
            );
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
                    "`{name}` ({type_name}) takes a [channels, height, width] input, but {} produces {}",
                    self.producer,
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
        if out.is_none() && w.stride.0 > 0 && w.stride.1 > 0 && w.dilation.0 > 0 && w.dilation.1 > 0
        {
            let dilated = if w.dilation == (1, 1) {
                String::new()
            } else {
                format!(
                    " with dilation {} (spanning {}x{})",
                    fmt_pair(w.dilation),
                    w.dilation.0 * (w.kernel.0 - 1) + 1,
                    w.dilation.1 * (w.kernel.1 - 1) + 1
                )
            };
            let message = format!(
                "`{name}`: the {} kernel{dilated} does not fit in the {}x{} input from {} with padding \
                 {}: the output would be empty",
                fmt_pair(w.kernel),
                shape[1],
                shape[2],
                self.producer,
                fmt_pair(w.padding)
            );
            self.error(span, message);
        }
        out
    }

    fn flatten(&mut self, name: &Ident, layer: &RawLayer) -> Option<LayerKind> {
        self.no_args(layer);
        self.options(name, layer, &[]);
        let out = self.shape.clone().map(|s| {
            let features = s.iter().product::<usize>();
            (vec![features], s)
        });
        match out {
            Some((shape, factors)) => self.produce(Some(shape), Some(factors)),
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
            _ => {
                let slope = match options.remove("slope") {
                    None => 0.01,
                    Some(RawValue::Float { value, .. }) if value >= 0.0 && value.is_finite() => {
                        value
                    }
                    Some(RawValue::Int(i)) if i.base10_parse::<f64>().is_ok() => {
                        i.base10_parse().unwrap_or(0.0)
                    }
                    Some(v) => {
                        self.error(
                            v.span(),
                            "`slope` must be a number ≥ 0 (the sign of the output then tells the sign of the input)",
                        );
                        0.01
                    }
                };
                Activation::LeakyReLU(slope)
            }
        };
        // Same shape out as in; a Flatten's factors still explain it.
        Some(LayerKind::Activation(activation))
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
            let span = layer.args_span.unwrap_or_else(|| layer.kind.span());
            let n = values.len();
            self.error(
                span,
                format!(
                    "`{type_name}` takes {usage}; found {n} argument{}",
                    if n == 1 { "" } else { "s" }
                ),
            );
            return None;
        }
        values.into_iter().map(|(v, s)| v.map(|v| (v, s))).collect()
    }

    fn no_args(&mut self, layer: &RawLayer) {
        if let Some(span) = layer.args_span {
            self.error(span, format!("`{}` takes no `<...>` arguments", layer.kind));
        }
    }

    fn no_annotation(&mut self, layer: &RawLayer) {
        if let Some(a) = &layer.annotation {
            self.error(
                a.span,
                "a loss produces a scalar; it takes no `-> [..]` annotation",
            );
        }
    }

    /// The layer's options by key; unknown and repeated keys are reported.
    fn options(
        &mut self,
        name: &Ident,
        layer: &RawLayer,
        allowed: &[&str],
    ) -> HashMap<String, RawValue> {
        let mut found = HashMap::new();
        for RawOption { key, value } in &layer.options {
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
            } else if found.contains_key(&k) {
                self.error(key.span(), format!("option `{k}` is given twice"));
            } else {
                found.insert(k, clone_value(value));
            }
        }
        found
    }

    /// An option that is an integer or an `(h, w)` pair, each at least `min`.
    fn pair(
        &mut self,
        value: Option<RawValue>,
        default: (usize, usize),
        min: usize,
    ) -> (usize, usize) {
        let Some(value) = value else {
            return default;
        };
        let parse = |l: &LitInt| l.base10_parse::<usize>().ok();
        let pair = match &value {
            RawValue::Int(i) => parse(i).map(|v| (v, v)),
            RawValue::Pair(h, w, _) => parse(h).zip(parse(w)),
            _ => None,
        };
        match pair {
            Some((h, w)) if h >= min && w >= min => (h, w),
            Some(_) => {
                self.error(value.span(), format!("must be at least {min}"));
                default
            }
            None => {
                self.error(value.span(), "expected an integer or a pair `(h, w)`");
                default
            }
        }
    }

    fn flag(&mut self, value: Option<RawValue>, default: bool) -> bool {
        match value {
            None => default,
            Some(RawValue::Bool(b)) => b.value,
            Some(v) => {
                self.error(v.span(), "expected `true` or `false`");
                default
            }
        }
    }
}

fn clone_value(v: &RawValue) -> RawValue {
    match v {
        RawValue::Int(i) => RawValue::Int(i.clone()),
        RawValue::Float { value, span } => RawValue::Float {
            value: *value,
            span: *span,
        },
        RawValue::Pair(h, w, s) => RawValue::Pair(h.clone(), w.clone(), *s),
        RawValue::Bool(b) => RawValue::Bool(b.clone()),
        RawValue::Word(w) => RawValue::Word(w.clone()),
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
            .map(|o| {
                let v = match &o.value {
                    RawValue::Int(i) => i.to_string(),
                    RawValue::Float { value, .. } => value.to_string(),
                    RawValue::Pair(h, w, _) => format!("({h}, {w})"),
                    RawValue::Bool(b) => b.value.to_string(),
                    RawValue::Word(w) => w.to_string(),
                };
                format!("{} = {v}", o.key)
            })
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
