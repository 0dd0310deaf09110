from django.urls import include, path
from rest_framework.routers import DefaultRouter

from households.api import HouseholdViewSet, MemberViewSet
from households.visit_api import VisitViewSet
from regions.api import RegionViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("households", HouseholdViewSet, basename="household")
router.register("members", MemberViewSet, basename="member")
router.register("visits", VisitViewSet, basename="visit")

urlpatterns = [
    path("", include(router.urls)),
    path("", include("interventions.api_urls")),
]
