"""Which of the shop's images get which variants. Autodiscovered by imagegen at start-up."""
import imagegen
from imagegen import VariantSpec

imagegen.register(
    "shop.ProductImage",
    "image",
    specs=[
        VariantSpec("sketch", processor="sketch", format="webp", size=1024),
        VariantSpec("sunset", style="sunset-look", format="webp", size=1024),
        VariantSpec("vintage", style="vintage", format="webp", size=1024),
    ],
)
