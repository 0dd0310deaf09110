from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterventionsConfig(AppConfig):
    name = "interventions"
    verbose_name = _("Interventions")

    def ready(self):
        from households.api import register_detail_section
        from households.signals import household_data_changed

        from . import api, services, tasks  # noqa: F401  (registers the Celery tasks)

        register_detail_section("pathway", api.household_pathway)

        household_data_changed.connect(
            services.on_household_data_changed, dispatch_uid="interventions.recalculate"
        )
