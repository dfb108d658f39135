"""Admin for imagegen, and the pieces a host's admin reuses:

    from imagegen.admin import ImagegenSourceAdmin

    @admin.register(ProductImage)
    class ProductImageAdmin(ImagegenSourceAdmin, admin.ModelAdmin):
        ...

gives the change page a live variants panel and the list "Restyle with…", "Regenerate
variants" and "Delete variants" actions (shown only to users with the permissions).
"""
from .sources import ImagegenSourceAdmin, VariantInline
from .styles import StyleAdmin
from .variants import VariantAdmin
from ..training.admin import TrainingRunAdmin  # noqa: E402  (training runs, docs/models.md)

__all__ = ["ImagegenSourceAdmin", "VariantInline", "StyleAdmin", "VariantAdmin", "TrainingRunAdmin"]
