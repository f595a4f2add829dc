from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self):
        import config.checks  # noqa: F401  (registers the project's checks)

        from . import receivers  # noqa: F401
