from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import gc

        from django.conf import settings
        from django.db.models.signals import post_migrate

        # Every process that computes figures (web, worker, commands) collects garbage less often.
        gc.set_threshold(settings.LODESTONE_GC_THRESHOLD, *gc.get_threshold()[1:])

        # Imported for what importing them does: the security log connects to the login signals,
        # and the tasks module registers the task that runs each job the services queue.
        from portfolio import security, tasks  # noqa: F401
        from portfolio.services.reference import currencies_ensure
        from portfolio.services.roles import roles_ensure
        from portfolio.services.schedules import schedules_ensure

        # Reference rows and default schedules are (re)created after every migrate and after
        # every test-database flush; existing rows are left alone.
        post_migrate.connect(currencies_ensure, sender=self, dispatch_uid="portfolio.currencies")
        post_migrate.connect(schedules_ensure, sender=self, dispatch_uid="portfolio.schedules")
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="portfolio.roles")

        # The held value series' kept rows and the positions' kept ledgers follow every write of what
        # they read (and are built after a migration where their data exists without them).
        from portfolio.services import kept, kept_ledgers

        kept.connect()
        kept_ledgers.connect()
        post_migrate.connect(kept.kept_ensure, sender=self, dispatch_uid="portfolio.kept")
        post_migrate.connect(kept_ledgers.ledgers_ensure, sender=self, dispatch_uid="portfolio.kept_ledgers")

        # Cached portfolio figures are retired whenever a record behind them changes.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from portfolio.figures_cache import on_record_change
        from portfolio.services import kept_figures

        for signal in (post_save, post_delete, m2m_changed):
            signal.connect(on_record_change, dispatch_uid=f"portfolio.figures.{id(signal)}")
            # ... and the kept figures worked out again once it has committed.
            signal.connect(kept_figures.on_record_change, dispatch_uid=f"portfolio.kept_figures.{id(signal)}")
