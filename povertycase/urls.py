from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from households.visit_views import service_worker

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("households/", include("households.urls")),
    path("regions/", include("households.region_urls")),
    path("pathway/", include("interventions.urls")),
    path("programmes/", include("interventions.programme_urls")),
    path("referrals/", include("interventions.referral_urls")),
    path("visits/", include("households.visit_urls")),
    path("sw.js", service_worker, name="service-worker"),
    path("pledges/", include("interventions.pledge_urls")),
    path("groups/", include("interventions.group_urls")),
    path("api/v1/", include("povertycase.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
