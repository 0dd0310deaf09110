from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api
from .pledge_api import DisbursementViewSet, OrganisationViewSet, PledgeViewSet
from .programme_api import ProgrammeViewSet
from .referral_api import DeliveryViewSet, ReferralViewSet

router = SimpleRouter()
router.register("rulesets", api.RuleSetViewSet, basename="ruleset")
router.register("assessments", api.AssessmentViewSet, basename="assessment")
router.register("transitions", api.TransitionViewSet, basename="transition")
router.register("cases", api.CaseViewSet, basename="case")
router.register("jobs", api.JobViewSet, basename="job")
router.register("programmes", ProgrammeViewSet, basename="programme")
router.register("referrals", ReferralViewSet, basename="referral")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("pledges", PledgeViewSet, basename="pledge")
router.register("disbursements", DisbursementViewSet, basename="disbursement")
router.register("organisations", OrganisationViewSet, basename="organisation")

urlpatterns = [path("", include(router.urls))]
