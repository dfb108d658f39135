"""Image quality figures. Paired metrics (PSNR, SSIM) compare an output with a reference of
the same content; they are meaningful for enhancement and round trips, not for generation."""
from .quality import psnr, ssim

__all__ = ["psnr", "ssim"]
