from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from portfolio.services.reference import currencies_ensure

        # Reference rows are (re)created after every migrate and every test-database flush.
        post_migrate.connect(currencies_ensure, sender=self, dispatch_uid="portfolio.currencies")
