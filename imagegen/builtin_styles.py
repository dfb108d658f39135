"""The 26 built-in styles of the multi-style network: their Style slugs and names.

No Django and no torch here, so commands, benchmarks and docs tools can import it cheaply.
The pretrained network came without names; each style was rendered on the shared product
photos (python -m benchmarks.builtin_styles_sheet draws docs/builtin-styles.jpg) and named
for what it shows.
"""
from __future__ import annotations

__all__ = ["NUM_STYLES", "BUILTIN_NAMES", "builtin_slug", "numbered_name"]

NUM_STYLES = 26  # the multi-style network's (imagegen.engine.networks.NUM_STYLES; no torch import here)

# index -> name; seen on a hoodie, a beanie, a T-shirt and a plimsoll
BUILTIN_NAMES: tuple[str, ...] = (
    "Sky blue and ochre",  # 0: pale wash, blue and ochre halo, the product stays dark
    "Bold ink on yellow",  # 1: thick black outlines, flat yellow and white
    "Grey mist",  # 2: muted pale grey, soft dark strokes
    "Blue and orange shards",  # 3: electric blue and orange abstract on black
    "Peach pastel",  # 4: warm peach backdrop, product colours kept
    "Amber glow",  # 5: golden orange halos on taupe
    "Navy cells",  # 6: dark navy with a cellular dot pattern
    "Cobalt and saffron",  # 7: deep blue and yellow, blurred
    "Pink and teal on white",  # 8: white ground, pink and teal strokes
    "Teal and red knit",  # 9: grey-teal knitted texture with red edges
    "Burnt sienna",  # 10: dark brown with orange rims
    "Ochre etching",  # 11: dark lines on ochre and cream
    "Lavender haze",  # 12: soft lavender, yellow halo
    "Olive and gold",  # 13: olive green ground, gold and teal strokes
    "Duck-egg blue",  # 14: pale teal wash
    "Pastel stained glass",  # 15: pastel cells with dark leading
    "Blue hatching",  # 16: blue diagonal strokes over orange
    "Red and blue blocks",  # 17: orange, red and blue bricks on red
    "Sepia woodcut",  # 18: brown cuts on sand
    "Blue and gold swirls",  # 19: swirling blue and gold brushwork
    "Crimson embers",  # 20: red and black, glowing rims
    "Black cut-outs on sky blue",  # 21: flat black shapes, red and cream edges
    "Slate with red accents",  # 22: slate blue, cream outlines, red patches
    "Smoky sage",  # 23: soft, blurred sage and grey; the product barely changes
    "Teal engraving",  # 24: fine dark teal lines on cream
    "Charcoal and amber",  # 25: charcoal grey with amber and blue texture
)
assert len(BUILTIN_NAMES) == NUM_STYLES and len(set(BUILTIN_NAMES)) == NUM_STYLES


def builtin_slug(index: int) -> str:
    return f"builtin-style-{index:02d}"


def numbered_name(index: int) -> str:
    """The name these rows had before they were named (kept as a default to replace)."""
    return f"Built-in style {index}"
