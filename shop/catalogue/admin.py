from django.contrib import admin

from imagegen.admin import ImagegenSourceAdmin

from .models import Category, Product, ProductImage


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["image", "alt", "position"]


@admin.register(Product)
class ProductAdmin(ImagegenSourceAdmin, admin.ModelAdmin):
    list_display = ["name", "category", "price", "is_public"]
    list_filter = ["category", "is_public"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProductImageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")

    def imagegen_sources(self, objects):
        # A product's images are the sources; its own row has no image field.
        for product in objects:
            for image in product.images.all():
                if image.image:
                    yield image, "image"


@admin.register(ProductImage)
class ProductImageAdmin(ImagegenSourceAdmin, admin.ModelAdmin):
    list_display = ["__str__", "product", "position"]
    list_select_related = ["product"]
