"""Which of the shop's images get which variants. Autodiscovered by imagegen at start-up.

Product pages show what is for sale, so the colour-changing looks keep the product itself
close to the photo (preserve_product="product": the scene takes the look, the product keeps
90% of its own pixels); the sketch is an openly artistic rendering. The cut-out (WebP keeps
the transparency) and the marketplace image (white, square, product 85% of the frame) are the
product styles of ``imagegen_product_styles``; see docs/product-images.md.
"""
import imagegen
from imagegen import VariantSpec

PRODUCT_FAITHFUL = {"preserve_product": "product", "preserve_amount": 0.9}

imagegen.register(
    "shop.ProductImage",
    "image",
    specs=[
        VariantSpec("sketch", processor="sketch", format="webp", size=1024),
        VariantSpec("sunset", style="sunset-look", params=PRODUCT_FAITHFUL, format="webp", size=1024),
        VariantSpec("vintage", style="vintage", params=PRODUCT_FAITHFUL, format="webp", size=1024),
        VariantSpec("cutout", style="cutout", format="webp", size=1024),
        VariantSpec("marketplace", style="marketplace", format="webp", size=2000),
    ],
)
