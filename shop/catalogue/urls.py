from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("products/<slug:slug>/", views.product_detail, name="product-detail"),
]
