from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterventionsConfig(AppConfig):
    name = "interventions"
    verbose_name = _("Interventions")

    def ready(self):
        from households.api import register_detail_section
        from households.scoping import register_household_scope
        from households.signals import household_data_changed

        from . import api, services, tasks  # noqa: F401  (registers the Celery tasks)
        from .referral_selectors import opd_household_scope

        register_detail_section("pathway", api.household_pathway)

        household_data_changed.connect(
            services.on_household_data_changed, dispatch_uid="interventions.recalculate"
        )
        # OPD officers see the households referred to their agencies' programmes.
        register_household_scope(opd_household_scope)
