from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterventionsConfig(AppConfig):
    name = "interventions"
    verbose_name = _("Interventions")

    def ready(self):
        from households.api import register_detail_section
        from households.scoping import register_household_scope
        from households.signals import household_data_changed, visit_recorded
        from households.visit_selectors import register_visit_stage

        from . import api, selectors, services, tasks  # noqa: F401  (registers the Celery tasks)
        from .referral_selectors import opd_household_scope

        register_detail_section("pathway", api.household_pathway)

        household_data_changed.connect(
            services.on_household_data_changed, dispatch_uid="interventions.recalculate"
        )
        visit_recorded.connect(services.on_visit_recorded, dispatch_uid="interventions.verify")
        # The visit cadence depends on the household's stage on the pathway.
        register_visit_stage(selectors.visit_stage_expression)
        # OPD officers see the households referred to their agencies' programmes.
        register_household_scope(opd_household_scope)
