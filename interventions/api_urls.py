from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api
from .group_api import (
    FollowUpViewSet,
    GraduationViewSet,
    GroupViewSet,
    KurApplicationViewSet,
    RepaymentViewSet,
)
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
router.register("groups", GroupViewSet, basename="group")
router.register("kur-applications", KurApplicationViewSet, basename="kur-application")
router.register("repayments", RepaymentViewSet, basename="repayment")
router.register("graduations", GraduationViewSet, basename="graduation")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")

urlpatterns = [path("", include(router.urls))]
