"""The "lut" processor: .cube parsing and trilinear application."""

import numpy as np
import pytest
import torch

from imagegen.engine import Image, ParameterError, render
from imagegen.engine.processors.lut import apply_cube, identity_cube, make_cube, parse_cube


def image(h: int = 24, w: int = 31, seed: int = 0) -> Image:
    g = torch.Generator().manual_seed(seed)
    return Image(rgb=torch.rand(3, h, w, generator=g), alpha=None, info={})


@pytest.mark.parametrize("size", [2, 17, 33])
def test_identity_lut_returns_input(size):
    img = image()
    cube = parse_cube(identity_cube(size))
    assert cube.size == size and cube.title == "Identity"
    out = apply_cube(img.rgb, cube)
    assert (out - img.rgb).abs().max() < 1e-5


def test_known_function_at_lattice_points_and_between():
    swap = lambda x: x[:, [2, 0, 1]] ** 2  # noqa: E731 - non-linear, channel-mixing
    cube = parse_cube(make_cube(5, swap, title="swap"))
    axis = torch.linspace(0, 1, 5)
    r, g, b = torch.meshgrid(axis, axis, axis, indexing="ij")
    lattice = torch.stack([r.flatten(), g.flatten(), b.flatten()]).view(3, 1, -1)
    out = apply_cube(lattice, cube)
    expected = torch.from_numpy(swap(lattice.view(3, -1).T.double().numpy()).T).float().view(3, 1, -1)
    assert (out - expected).abs().max() < 1e-5
    # halfway between two lattice points along red: the average of the two (linear interpolation)
    point = torch.tensor([0.125, 0.5, 0.75]).view(3, 1, 1)
    lo = torch.tensor([0.0, 0.5, 0.75]).view(3, 1, 1)
    hi = torch.tensor([0.25, 0.5, 0.75]).view(3, 1, 1)
    mid = (apply_cube(lo, cube) + apply_cube(hi, cube)) / 2
    assert (apply_cube(point, cube) - mid).abs().max() < 1e-5


def test_red_changes_fastest():
    # 2-point LUT mapping everything to its (r, g, b) lattice index written as output:
    text = "LUT_3D_SIZE 2\n" + "\n".join(
        f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)
    )
    cube = parse_cube(text)
    assert np.array_equal(cube.table[0, 0, 1], [1, 0, 0])  # [b, g, r]
    rgb = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)
    assert apply_cube(rgb, cube).flatten().tolist() == [1.0, 0.0, 0.0]


def test_invert_lut_through_render_keeps_alpha():
    img = image()
    img.alpha = torch.rand(1, 24, 31)
    out = render(img, "lut", {}, reference=make_cube(9, lambda x: 1 - x).encode())
    assert (out.rgb - (1 - img.rgb)).abs().max() < 1e-5
    assert torch.equal(out.alpha, img.alpha)
    assert out.info["processor"] == "lut" and "lut_title" not in out.info


def test_domain_comments_and_title():
    text = (
        "# made by hand\n"
        'TITLE "Half # domain"\n'
        "LUT_3D_SIZE 2\n"
        "DOMAIN_MIN 0 0 0\n"
        "DOMAIN_MAX 2 2 2  # inputs 0..2\n"
        "\n"
        + "\n".join(f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1))
    )
    cube = parse_cube(text)
    assert cube.title == "Half # domain" and cube.domain_max == (2.0, 2.0, 2.0)
    rgb = torch.full((3, 1, 1), 0.5)
    assert apply_cube(rgb, cube).flatten().tolist() == pytest.approx([0.25] * 3, abs=1e-6)


ROWS8 = "\n".join(["0 0 0"] * 8)


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        (ROWS8, "LUT_3D_SIZE is missing"),
        ("LUT_3D_SIZE 2\n" + "\n".join(["0 0 0"] * 7), "needs 8 table rows, found 7"),
        ("LUT_3D_SIZE 2\n" + "\n".join(["0 0 0"] * 9), "found 9"),
        ("LUT_3D_SIZE 2\n0 0 0\n0 0 x\n" + "\n".join(["0 0 0"] * 6), "line 3"),
        ("LUT_3D_SIZE 2\n0 0\n" + "\n".join(["0 0 0"] * 7), "line 2"),
        ("LUT_3D_SIZE 300\n", "from 2 to 256"),
        ("LUT_3D_SIZE 1\n0 0 0\n", "from 2 to 256"),
        ("LUT_3D_SIZE two\n", "whole number"),
        ("LUT_1D_SIZE 4\n", "1D LUT"),
        ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 1 1\n" + ROWS8, "DOMAIN_MIN"),
        ("LUT_3D_SIZE 2\nDOMAIN_MAX 1 1\n" + ROWS8, "line 2"),
        ("LUT_3D_SIZE 2\n" + "\n".join(["nan 0 0"] * 8), "not finite"),
        ("LUT_3D_SIZE 2\n0 0 0\nTITLE \"late\"\n" + "\n".join(["0 0 0"] * 7), "line 3"),
    ],
)
def test_corrupt_luts(text, words):
    with pytest.raises(ParameterError) as err:
        parse_cube(text)
    assert words in str(err.value)
    assert ".cube" in str(err.value)


def test_binary_and_missing_reference():
    with pytest.raises(ParameterError, match="not a text file"):
        parse_cube(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xfe\x80")
    with pytest.raises(ParameterError, match="needs"):
        render(image(), "lut", {}, reference=None)
    with pytest.raises(ParameterError, match="Unknown parameter"):
        render(image(), "lut", {"size": 3}, reference=identity_cube(2).encode())
