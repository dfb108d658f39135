"""Generative metrics against values worked out by hand on tiny inputs."""
import math

import pytest
import torch

from imagegen.engine.metrics.embedding import EMBEDDING_NAME, embed
from imagegen.engine.metrics.generative import frechet_distance, kid, nearest, precision_recall, sliced_wasserstein, thumbnails


def col(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)[:, None]


def test_kid_by_hand():
    # k(a, b) = (a*b/1 + 1)^3. X = {0, 1}: k(0,1) = 1. Y = {1, 2}: k(1,2) = 27.
    # Cross: k(0,1)=1, k(0,2)=1, k(1,1)=8, k(1,2)=27 -> mean 37/4.
    # Unbiased MMD^2 = 1 + 27 - 2 * 37/4 = 9.5
    assert kid(col(0, 1), col(1, 2)) == pytest.approx(9.5)


def test_kid_is_symmetric_and_near_zero_for_one_distribution():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    assert kid(a, b) == pytest.approx(kid(b, a))
    assert abs(kid(a, b)) < 0.05 < kid(a, b + 1.0)


def test_frechet_by_hand_in_one_dimension():
    # x = {0, 2}: mean 1, unbiased variance 2; y = {3, 7}: mean 5, variance 8.
    # FD = (1 - 5)^2 + 2 + 8 - 2 sqrt(2 * 8) = 16 + 10 - 8 = 18
    assert frechet_distance(col(0, 2), col(3, 7)) == pytest.approx(18.0)


def test_frechet_by_hand_with_diagonal_covariances():
    # Per axis: a = {-1, 1} (mean 0, var 2) and {-2, 2} (mean 0, var 8);
    # b = {0, 2} (mean 1, var 2) and {-1, 1} (mean 0, var 2).
    a = torch.tensor([[-1.0, -2.0], [1.0, 2.0]])
    b = torch.tensor([[0.0, -1.0], [2.0, 1.0]])
    # |mu|^2 = 1; trace terms: (2 + 2 - 2*2) + (8 + 2 - 2*4) = 0 + 2
    assert frechet_distance(a, b) == pytest.approx(3.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_sliced_wasserstein_by_hand():
    # In 1-D every direction is +-1, so the distance is W1({0,1}, {2,3}) = 2.
    assert sliced_wasserstein(col(0, 1), col(2, 3)) == pytest.approx(2.0)
    # Unequal sizes: {0} vs {0, 2}: quantiles on a 2-point grid are 0,0 vs 0,2 -> mean 1.
    assert sliced_wasserstein(col(0), col(0, 2)) == pytest.approx(1.0)
    x = torch.randn(50, 5, generator=torch.Generator().manual_seed(1))
    assert sliced_wasserstein(x, x) == 0.0


def test_precision_recall_by_hand():
    real = col(0, 1, 2, 3)  # k=1 radii: 1 each
    fake = col(0.5, 10)  # k=1 radii: 9.5 each
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == pytest.approx(0.5)  # 0.5 is inside a real ball, 10 is not
    assert recall == pytest.approx(1.0)  # every real point is within 9.5 of 0.5
    assert precision_recall(real, real, k=1) == (1.0, 1.0)


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match="equal D"):
        kid(torch.zeros(3, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="at least"):
        frechet_distance(torch.zeros(1, 2), torch.zeros(3, 2))


def test_thumb_distance_is_zero_for_a_copy_and_one_for_black_vs_white():
    white, black = torch.ones(1, 3, 64, 64), torch.zeros(1, 3, 48, 48)
    refs = thumbnails(torch.cat([torch.ones(1, 3, 32, 32), torch.full((1, 3, 32, 32), 0.5)]))
    distance, index = nearest(torch.cat([thumbnails(white), thumbnails(black)]), refs)
    assert distance.tolist() == pytest.approx([0.0, 0.5])
    assert index.tolist() == [0, 1]
    distance, _ = nearest(thumbnails(black), thumbnails(white))
    assert distance.item() == pytest.approx(1.0)


def test_embedding_is_named_deterministic_and_discriminates():
    assert EMBEDDING_NAME == "randconv64-v1"
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 40, 40, generator=g)
    a, b = embed(images), embed(images.clone())
    assert a.shape == (3, 960) and torch.equal(a, b)
    assert not torch.allclose(embed(torch.zeros(1, 3, 40, 40)), embed(torch.ones(1, 3, 40, 40)))
    assert math.isfinite(float(a.sum()))
