"""
Writing the records a reader yields into the shop's models, in batches:
categories, then products, their variants and their images, and at the end
the products' listing and search fields.
"""

from django.db.models import Max
from django.utils.text import slugify

from shop.models import Category, Product, ProductImage, ProductVariant
from shop.services import product_index_refresh, tables_analyze

from .images import images_fetch
from .records import LoadResult, ProductRecord

BATCH_SIZE = 500
PRODUCT_FIELDS = ["name", "description", "category_id", "is_active"]
VARIANT_FIELDS = [
    "product_id",
    "options",
    "price",
    "compare_at_price",
    "stock",
    "track_inventory",
    "option_order",
    "position",
]


class _Writer:
    """
    ``skus`` holds each record key's SKUs in the whole file, so a product
    whose variants come later is still recognised by them. With
    ``fetch_timeout``, new images are copied into media storage.
    """

    def __init__(
        self,
        result: LoadResult,
        *,
        skus: dict[str, list[str]] | None = None,
        fetch_timeout: float | None = None,
    ):
        self.result = result
        self.skus = skus or {}
        self.fetch_timeout = fetch_timeout
        self.keys: dict[str, int] = {}  # record key -> product id
        self.categories: dict[tuple[str, ...], int] = {}
        self.batch: list[ProductRecord] = []
        self.batch_keys: set[str] = set()
        self.touched: set[int] = set()
        # Product id -> the position its next new variant takes.
        self.next_position: dict[int, int] = {}

    def add(self, record: ProductRecord) -> None:
        if record.key in self.batch_keys or len(self.batch) >= BATCH_SIZE:
            self.flush()
        self.batch.append(record)
        self.batch_keys.add(record.key)

    def flush(self) -> None:
        batch, self.batch, self.batch_keys = self.batch, [], set()
        if not batch:
            return
        skus = [sku for r in batch for sku in self._file_skus(r)]
        existing = {v.sku: v for v in ProductVariant.objects.filter(sku__in=skus)}
        pids = self._product_ids(batch, existing)
        self._write_products(batch, pids)
        self._write_variants(batch, pids, existing)
        self._write_images(batch, pids)

    def _file_skus(self, record: ProductRecord) -> list[str]:
        return self.skus.get(record.key) or [v.sku for v in record.variants]

    def index_refresh(self) -> None:
        """Recompute the listing and search fields of every product touched."""
        if self.touched:
            product_index_refresh(product_ids=sorted(self.touched))
            tables_analyze(models=[Category, Product, ProductVariant, ProductImage])

    # Categories

    def category_id(self, names: list[str]) -> int:
        path = tuple(names)
        if path in self.categories:
            return self.categories[path]
        parent_id = self.category_id(names[:-1]) if len(names) > 1 else None
        category = Category.objects.filter(parent_id=parent_id, name=names[-1]).first()
        if category is None:
            parent = Category.objects.get(pk=parent_id) if parent_id else None
            base = slugify(names[-1])[:120] or "category"
            slug = base
            if Category.objects.filter(slug=slug).exists() and parent is not None:
                slug = f"{parent.slug}-{base}"[:130]
            n = 2
            while Category.objects.filter(slug=slug).exists():
                slug = f"{base}-{n}"
                n += 1
            category = Category(parent=parent, name=names[-1], slug=slug)
            category.save()
            self.result.categories_created += 1
        self.categories[path] = category.pk
        return category.pk

    def _record_category_id(self, record: ProductRecord) -> int:
        """The product's category; its other categories are created too."""
        category_id = (
            self.category_id(record.categories[0])
            if record.categories
            else self.category_id(["Uncategorised"])
        )
        for extra in record.categories[1:]:
            self.category_id(extra)
        return category_id

    # Products

    def _product_ids(
        self, batch: list[ProductRecord], existing: dict[str, ProductVariant]
    ) -> dict[str, int]:
        """
        Which product each record is: seen earlier in this file, owning one of
        the SKUs the file gives it already (wherever in the file they are), or
        (for a given handle) holding that slug.
        """
        pids: dict[str, int] = {}
        for r in batch:
            pid = self.keys.get(r.key)
            if pid is None:
                pid = next(
                    (
                        existing[sku].product_id
                        for sku in self._file_skus(r)
                        if sku in existing
                    ),
                    None,
                )
            if pid is not None:
                pids[r.key] = pid
        by_slug = {
            p.slug: p.pk
            for p in Product.objects.filter(
                slug__in=[r.slug for r in batch if r.slug_given and r.key not in pids]
            ).only("pk", "slug")
        }
        for r in batch:
            if r.key not in pids and r.slug in by_slug and r.slug_given:
                pids[r.key] = by_slug[r.slug]
        return pids

    def _unique_slug(self, base: str, taken: set[str]) -> str:
        slug, n = base, 2
        while slug in taken or Product.objects.filter(slug=slug).exists():
            slug = f"{base[:200]}-{n}"
            n += 1
        taken.add(slug)
        return slug

    def _write_products(self, batch: list[ProductRecord], pids: dict[str, int]) -> None:
        """Create or update the batch's products; adds the new ones to ``pids``."""
        result = self.result
        products = Product.objects.in_bulk(list(pids.values()))
        new_products: list[tuple[ProductRecord, Product]] = []
        changed_products: list[Product] = []
        taken: set[str] = set()
        for r in batch:
            if not r.has_fields:
                continue
            values = {
                "name": r.name,
                "description": r.description,
                "category_id": self._record_category_id(r),
                "is_active": r.active,
            }
            product = products.get(pids.get(r.key))
            if product is None:
                slug = self._unique_slug(r.slug or "product", taken)
                new_products.append((r, Product(slug=slug, **values)))
            elif any(getattr(product, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(product, f, v)
                changed_products.append(product)
            else:
                result.products_unchanged += 1
        if new_products:
            created = Product.objects.bulk_create([p for _, p in new_products])
            for (r, _), product in zip(new_products, created, strict=True):
                pids[r.key] = product.pk
                self.touched.add(product.pk)
                self.next_position[product.pk] = 0
            result.products_created += len(created)
        if changed_products:
            Product.objects.bulk_update(changed_products, PRODUCT_FIELDS)
            self.touched.update(p.pk for p in changed_products)
            result.products_updated += len(changed_products)
        for r in batch:
            if r.key in pids:
                self.keys[r.key] = pids[r.key]

    # Variants

    def _write_variants(
        self,
        batch: list[ProductRecord],
        pids: dict[str, int],
        existing: dict[str, ProductVariant],
    ) -> None:
        result = self.result
        new_variants, changed_variants = [], []
        for r in batch:
            pid = pids.get(r.key)
            if pid is None:
                continue
            for v in r.variants:
                old = existing.get(v.sku)
                if old is not None and old.product_id == pid:
                    # A variant keeps its place, so the file's row order
                    # never changes the catalogue.
                    position = old.position
                else:
                    position = self._take_position(pid)
                values = {
                    "product_id": pid,
                    "options": v.options,
                    "price": v.price,
                    "compare_at_price": v.compare_at_price,
                    "stock": v.stock,
                    "track_inventory": v.track_inventory,
                    "option_order": list(v.options),
                    "position": position,
                }
                if old is None:
                    new_variants.append(ProductVariant(sku=v.sku, **values))
                    self.touched.add(pid)
                elif any(getattr(old, f) != val for f, val in values.items()):
                    self.touched.update({pid, old.product_id})
                    for f, val in values.items():
                        setattr(old, f, val)
                    changed_variants.append(old)
                else:
                    result.variants_unchanged += 1
        if new_variants:
            ProductVariant.objects.bulk_create(new_variants)
            result.variants_created += len(new_variants)
        if changed_variants:
            ProductVariant.objects.bulk_update(changed_variants, VARIANT_FIELDS)
            result.variants_updated += len(changed_variants)

    def _take_position(self, pid: int) -> int:
        """The next free position among the product's variants."""
        if pid not in self.next_position:
            top = ProductVariant.objects.filter(product_id=pid).aggregate(
                top=Max("position")
            )["top"]
            self.next_position[pid] = 0 if top is None else top + 1
        position = self.next_position[pid]
        self.next_position[pid] += 1
        return position

    # Images

    def _write_images(self, batch: list[ProductRecord], pids: dict[str, int]) -> None:
        """
        Replace a product's imported images when the file lists others. An
        imported image keeps its source URL; a file already copied for the
        same URL is kept, and one missing is fetched again.
        """
        with_images = {
            pids[r.key]: r.images for r in batch if r.images and r.key in pids
        }
        if not with_images:
            return
        current: dict[int, list[ProductImage]] = {}
        for image in (
            ProductImage.objects.filter(product_id__in=with_images)
            .exclude(url="")
            .order_by("product_id", "position", "id")
        ):
            current.setdefault(image.product_id, []).append(image)
        replace = [
            pid
            for pid, urls in with_images.items()
            if [i.url for i in current.get(pid, [])] != urls
        ]
        new: list[ProductImage] = []
        if replace:
            files = {
                (i.product_id, i.url): i.image.name
                for pid in replace
                for i in current.pop(pid, [])
                if i.image
            }
            ProductImage.objects.filter(product_id__in=replace).exclude(url="").delete()
            new = [
                ProductImage(
                    product_id=pid, url=url, position=n, image=files.get((pid, url), "")
                )
                for pid in replace
                for n, url in enumerate(with_images[pid])
            ]
            self.touched.update(replace)
            self.result.images_replaced += len(replace)
        if self.fetch_timeout is not None:
            kept = [i for images in current.values() for i in images]
            fetched = images_fetch(
                images=[i for i in new + kept if not i.image],
                timeout=self.fetch_timeout,
                errors=self.result.image_errors,
            )
            ProductImage.objects.bulk_update([i for i in fetched if i.pk], ["image"])
            self.touched.update(i.product_id for i in fetched)
            self.result.images_fetched += len(fetched)
        ProductImage.objects.bulk_create(new)
