"""Fill the demo shop: image styles, categories and products with product photos.

    python manage.py seed_demo                      # 24 drawn demo products
    python manage.py seed_demo --count 60
    python manage.py seed_demo --from-folder ~/photos   # the shop's own photos instead
    python manage.py seed_demo --flush               # delete the demo products first
    python manage.py seed_demo --no-backdrop         # do not queue the backdrop GAN's training

Nothing is downloaded: the photos are drawn by :mod:`shop.catalogue.drawing` (or read from
the folder). Running it twice creates nothing new; products are matched by slug.

When background photos are configured (IMAGEGEN["SEGMENT_BACKGROUNDS"]: the demo's
../shared/datasets/backgrounds when present), it also queues one backdrop GAN training run on
the training queue (the dev worker of `make run` takes it, ~12 min on 2 CPU cores); when it
finishes, the 'generated-backdrop' style appears. Nothing waits for it here.
"""

from __future__ import annotations

import io
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageOps, UnidentifiedImageError

from shop.catalogue.drawing import demo_catalogue, draw_product, draw_reference_palette, make_cube_lut
from shop.catalogue.models import Category, Product, ProductImage

IMPORT_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
IMPORTED_CATEGORY = "Imported"

#: (slug, name, processor, parameters, reference builder -> (file name, bytes) or None)
STYLES: tuple[tuple[str, str, str, dict[str, Any], Any], ...] = (
    ("sketch", "Pencil sketch", "sketch", {}, None),
    ("sunset-look", "Sunset look", "look", {"method": "reinhard"}, lambda: ("sunset.png", _png(draw_reference_palette("sunset")))),
    ("forest-look", "Forest look", "look", {"method": "mkl"}, lambda: ("forest.png", _png(draw_reference_palette("forest")))),
    ("vintage", "Vintage", "lut", {}, lambda: ("vintage.cube", make_cube_lut("vintage").encode())),
    ("cool", "Cool", "lut", {}, lambda: ("cool.cube", make_cube_lut("cool").encode())),
)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _encode(image: Image.Image) -> tuple[str, bytes]:
    """PNG for images with transparency, JPEG (quality 90) otherwise: (extension, bytes)."""
    if image.mode == "RGBA":
        return "png", _png(image)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=90, optimize=True, progressive=True)
    return "jpg", buf.getvalue()


def _title_from_stem(stem: str) -> str:
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.capitalize() for w in words) or stem


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listing(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def summary(created: tuple[int, int, int], present: tuple[int, int, int], deleted: int = 0) -> str:
    """The closing line: what this run made and what it found already there, each as
    (products, images, demo styles). A second run says "Nothing new: ..." rather than
    "Created 0 products ... and 5 styles" (the styles were not created again)."""
    products, images, styles = created
    made = []
    if products:
        made.append(f"{_count(products, 'product')} with {_count(images, 'image')}")
    if styles:
        made.append(_count(styles, "demo style"))
    old_products, old_images, old_styles = present
    there = [p for n, p in (
        (old_products, _count(old_products, "product")), (old_images, _count(old_images, "image")),
        (old_styles, _count(old_styles, "demo style")),
    ) if n]
    verb = "was" if len(there) == 1 and there[0].startswith("1 ") else "were"
    if made:
        line = f"Created {_listing(made)}"
        if there:
            line += f"; {_listing(there)} {verb} already there"
    elif there:
        line = f"Nothing new: {_listing(there)} {verb} already there"
    else:
        line = "Nothing to do: no products asked for"
    if deleted:
        line += f"; deleted {_count(deleted, 'product')} first"
    return line + "."


class Command(BaseCommand):
    help = (
        "Create the demo image styles and a demo catalogue with drawn product photos "
        "(or import the shop's own photos with --from-folder). Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=24, help="How many demo products (default 24).")
        parser.add_argument(
            "--from-folder",
            dest="from_folder",
            metavar="DIR",
            help="Import every .jpg/.jpeg/.png/.webp in DIR as a product instead of drawing demo products.",
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="Delete the demo products (or, with --from-folder, the products imported from DIR) first.",
        )
        parser.add_argument("--size", type=int, default=768, help="Pixel size of the drawn photos (default 768).")
        parser.add_argument("--no-backdrop", action="store_true", help="Do not queue the backdrop GAN's training run.")

    # ----------------------------------------------------------------------------------------
    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        size: int = options["size"]
        folder = Path(options["from_folder"]).expanduser() if options["from_folder"] else None
        if count < 0:
            raise CommandError("--count must be zero or more.")
        if not 64 <= size <= 4096:
            raise CommandError("--size must be between 64 and 4096.")
        if folder is not None and not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")

        # Styles first, so the upload hooks of the product images below can resolve them.
        styles_created, styles_present = self.seed_styles()
        call_command("imagegen_builtin_styles", stdout=self.stdout)  # the 26 neural styles (issue 7)
        call_command("imagegen_product_styles", stdout=self.stdout)  # cut-out, marketplace, backgrounds, crop

        deleted = 0
        if options["flush"]:
            deleted = self.flush(folder, count)

        if folder is not None:
            products, images, skipped, skipped_images = self.import_folder(folder)
        else:
            products, images, skipped, skipped_images = self.seed_products(count, size)

        if not options["no_backdrop"]:
            self.queue_backdrop_training()
        self.stdout.write(self.style.SUCCESS(summary(
            created=(products, images, styles_created), present=(skipped, skipped_images, styles_present), deleted=deleted
        )))

    def queue_backdrop_training(self) -> None:
        """One backdrop GAN run on the configured background photos, queued for the training
        worker, unless there is one already (any state but failed)."""
        from redis.exceptions import RedisError

        from imagegen.conf import conf
        from imagegen.training.jobs import enqueue_training
        from imagegen.training.models import TrainingRun
        from imagegen.training.runner import create_run, default_steps, make_config

        folder = conf.SEGMENT_BACKGROUNDS
        if not folder or not Path(folder).is_dir():
            return
        if TrainingRun.objects.filter(kind=TrainingRun.Kind.BACKDROP).exclude(status=TrainingRun.Status.FAILED).exists():
            return
        run = create_run(TrainingRun.Kind.BACKDROP, make_config(TrainingRun.Kind.BACKDROP), steps=default_steps(TrainingRun.Kind.BACKDROP),
                         device="auto", backgrounds=str(folder))
        try:
            enqueue_training(run)
        except RedisError as exc:
            self.stdout.write(f"Backdrop training run #{run.pk} stays queued (Redis: {exc}); "
                              f"queue it later with: python manage.py imagegen_train backdrop --resume {run.pk} --queue")
            return
        self.stdout.write(f"Queued backdrop GAN training run #{run.pk} on {folder} (imagegen-train queue): "
                          "the 'generated-backdrop' style appears when it finishes.")

    # ----------------------------------------------------------------------------------------
    def seed_styles(self) -> tuple[int, int]:
        """Create or update the demo styles; returns how many were created and how many were
        already there."""
        from imagegen.models import Style

        new = 0
        for slug, name, processor, parameters, reference in STYLES:
            style, created = Style.objects.update_or_create(
                slug=slug,
                defaults={"name": name, "processor": processor, "parameters": parameters, "is_active": True, "show_on_storefront": True},
            )
            if reference is not None:
                filename, data = reference()
                if not self._same_file(style.reference, data):
                    if style.reference:
                        style.reference.delete(save=False)
                    style.reference.save(filename, ContentFile(data), save=True)
            self._log(2, f"{'Created' if created else 'Updated'} style {slug}")
            new += created
        return new, len(STYLES) - new

    @staticmethod
    def _same_file(fieldfile, data: bytes) -> bool:
        if not fieldfile:
            return False
        try:
            if not fieldfile.storage.exists(fieldfile.name):
                return False
            with fieldfile.storage.open(fieldfile.name, "rb") as fh:
                return fh.read() == data
        except OSError:
            return False

    # ----------------------------------------------------------------------------------------
    def flush(self, folder: Path | None, count: int) -> int:
        if folder is not None:
            slugs = {self._import_slug(p) for p in self._folder_files(folder)}
            qs = Product.objects.filter(slug__in=slugs, category__name=IMPORTED_CATEGORY)
        else:
            # every name the demo catalogue can produce up to a generous size
            slugs = {slugify(e["name"]) for e in demo_catalogue(max(count, 1000))}
            qs = Product.objects.filter(slug__in=slugs)
        deleted = 0
        for product in qs.prefetch_related("images"):
            with transaction.atomic():
                for image in product.images.all():
                    if image.image:
                        image.image.delete(save=False)
                    image.delete()
                product.delete()
            deleted += 1
        self._log(1, f"Deleted {deleted} products.")
        return deleted

    # ----------------------------------------------------------------------------------------
    def seed_products(self, count: int, size: int) -> tuple[int, int, int, int]:
        """(products created, their images, products already there, their images)."""
        created = images = skipped = skipped_images = 0
        categories: dict[str, Category] = {}
        for index, entry in enumerate(demo_catalogue(count)):
            slug = slugify(entry["name"])
            if Product.objects.filter(slug=slug).exists():
                skipped += 1
                skipped_images += ProductImage.objects.filter(product__slug=slug).count()
                continue
            shots = [draw_product(entry["kind"], color=entry["color"], size=size, transparent=entry["transparent"], seed=entry["seed"])]
            if index % 2 == 0:
                # a second angle: mirrored, the other background, other folds/grain
                alt = draw_product(
                    entry["kind"], color=entry["color"], size=size, transparent=not entry["transparent"], seed=entry["seed"] + 1
                )
                shots.append(ImageOps.mirror(alt))
            with transaction.atomic():
                category = categories.get(entry["category"])
                if category is None:
                    category = self._category(entry["category"])
                    categories[entry["category"]] = category
                product = Product.objects.create(
                    category=category,
                    name=entry["name"],
                    slug=slug,
                    description=entry["description"],
                    price=entry["price"],
                    is_public=True,
                )
                for position, shot in enumerate(shots):
                    ext, data = _encode(shot)
                    view = "front" if position == 0 else "alternate view"
                    self._add_image(product, f"{slug}-{position + 1}.{ext}", data, f"{entry['name']}, {view}", position)
                    images += 1
            created += 1
            self._log(2, f"Created {entry['name']} ({len(shots)} image{'s' if len(shots) > 1 else ''})")
        return created, images, skipped, skipped_images

    # ----------------------------------------------------------------------------------------
    def import_folder(self, folder: Path) -> tuple[int, int, int, int]:
        created = images = skipped = skipped_images = 0
        category: Category | None = None
        for path in self._folder_files(folder):
            slug = self._import_slug(path)
            if Product.objects.filter(slug=slug).exists():
                skipped += 1
                skipped_images += ProductImage.objects.filter(product__slug=slug).count()
                continue
            try:
                data = path.read_bytes()
                with Image.open(io.BytesIO(data)) as probe:
                    probe.verify()
                with Image.open(io.BytesIO(data)) as probe:  # verify() leaves the image unusable
                    probe.load()
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
                reason = str(exc).split(" <_io.")[0] or type(exc).__name__  # drop the BytesIO repr
                self.stderr.write(self.style.WARNING(f"Skipping {path.name}: Pillow cannot open it ({reason})."))
                continue
            name = _title_from_stem(path.stem)
            with transaction.atomic():
                if category is None:
                    category = self._category(IMPORTED_CATEGORY)
                product = Product.objects.create(
                    category=category,
                    name=name[:200],
                    slug=slug,
                    description="",
                    price=Decimal(19 + zlib.crc32(slug.encode()) % 60) + Decimal("0.90"),
                    is_public=True,
                )
                self._add_image(product, path.name, data, name[:200], 0)
            created += 1
            images += 1
            self._log(2, f"Imported {path.name} as {name}")
        return created, images, skipped, skipped_images

    @staticmethod
    def _folder_files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMPORT_EXTENSIONS)

    @staticmethod
    def _import_slug(path: Path) -> str:
        slug = slugify(path.stem.replace("_", "-"))[:50].strip("-")
        return slug or f"imported-{zlib.crc32(path.name.encode()):08x}"

    # ----------------------------------------------------------------------------------------
    @staticmethod
    def _category(name: str) -> Category:
        category, _ = Category.objects.get_or_create(slug=slugify(name), defaults={"name": name})
        return category

    @staticmethod
    def _add_image(product: Product, filename: str, data: bytes, alt: str, position: int) -> ProductImage:
        # A plain model save with an uncommitted file, exactly like an upload through a form:
        # the storage writes the file and imagegen's save hooks see a new image.
        image = ProductImage(product=product, alt=alt, position=position)
        image.image = ContentFile(data, name=filename)
        image.save()
        return image

    def _log(self, level: int, message: str) -> None:
        if self.verbosity >= level:
            self.stdout.write(message)

    def execute(self, *args: Any, **options: Any):
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)
