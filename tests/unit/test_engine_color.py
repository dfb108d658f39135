"""Colour conversions and CIEDE2000 (imagegen.engine.color)."""

import pytest
import torch

from imagegen.engine.color import delta_e2000, lab_to_rgb, linear_to_srgb, rgb_to_lab, srgb_to_linear

# (Lab1, Lab2, dE00) from Sharma, Wu & Dalal (2005), Table 1.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0011), 7.2195),
    ((50.0, -0.0010, 2.4900), (50.0, 0.0009, -2.4900), 4.8045),
    ((50.0, -0.0010, 2.4900), (50.0, 0.0011, -2.4900), 4.7461),
    ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_delta_e2000_matches_sharma_table():
    lab1 = torch.tensor([p[0] for p in SHARMA], dtype=torch.float64)
    lab2 = torch.tensor([p[1] for p in SHARMA], dtype=torch.float64)
    expected = torch.tensor([p[2] for p in SHARMA], dtype=torch.float64)
    got = delta_e2000(lab1, lab2, dim=-1)
    # published values are rounded to 4 decimals
    assert torch.allclose(got, expected, atol=1e-4, rtol=0), (got - expected).abs().max()
    # symmetric
    assert torch.allclose(delta_e2000(lab2, lab1, dim=-1), expected, atol=1e-4, rtol=0)


def test_delta_e2000_on_images_and_zero():
    lab = rgb_to_lab(torch.rand(3, 8, 9, dtype=torch.float64))
    d = delta_e2000(lab, lab)
    assert d.shape == (8, 9)
    assert float(d.abs().max()) == 0.0


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.2408, 80.0925, 67.2032)),
        ((0.0, 0.0, 1.0), (32.2970, 79.1875, -107.8602)),
    ],
)
def test_rgb_to_lab_known_values(rgb, lab):
    got = rgb_to_lab(torch.tensor(rgb, dtype=torch.float64), dim=-1)
    assert torch.allclose(got, torch.tensor(lab, dtype=torch.float64), atol=2e-3)


def test_round_trips_and_batching():
    torch.manual_seed(0)
    rgb = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(rgb)), rgb, atol=1e-12)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-9)
    # batch and single image agree
    assert torch.allclose(rgb_to_lab(rgb)[1], rgb_to_lab(rgb[1]))


def test_rgb_to_lab_is_differentiable():
    rgb = torch.rand(3, 4, 4, requires_grad=True)
    rgb_to_lab(rgb).sum().backward()
    assert torch.isfinite(rgb.grad).all()


def test_lab_to_rgb_in_gamut_keeps_lightness_and_hue():
    from imagegen.engine.color import lab_to_rgb_in_gamut

    lab = torch.tensor([[60.0, 0.0, -120.0], [50.0, 20.0, 10.0], [120.0, 0.0, 0.0]], dtype=torch.float64)
    rgb = lab_to_rgb_in_gamut(lab, dim=-1)
    assert rgb.min() >= 0 and rgb.max() <= 1
    back = rgb_to_lab(rgb, dim=-1)
    assert abs(float(back[0, 0]) - 60.0) < 0.05  # same L, less chroma
    assert abs(float(torch.atan2(back[0, 2], back[0, 1])) - float(torch.atan2(lab[0, 2], lab[0, 1]))) < 0.01
    assert torch.allclose(back[1], lab[1], atol=1e-6)  # in-gamut colour untouched
    assert torch.allclose(rgb[2], torch.ones(3, dtype=torch.float64))  # L clamped to 100
