from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "shop.catalogue"
    label = "shop"
    verbose_name = "Catalogue"
