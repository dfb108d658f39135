"""Image quality figures. Paired metrics (PSNR, SSIM) compare an output with a reference of
the same content; they are meaningful for enhancement and round trips, not for generation.
Distribution metrics for generated images (KID, Frechet distance in a named embedding,
sliced Wasserstein, precision/recall, memorisation) are in generative.py."""
from .quality import psnr, ssim

__all__ = ["psnr", "ssim"]
