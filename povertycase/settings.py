"""PovertyCase settings: one file, every knob an environment variable with a safe default.

The variables are listed in README.md ("Configuration"). DJANGO_ENV=production switches on the
secure defaults (no debug, required secret key, HTTPS-only cookies, HSTS).
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_ENV=production.")
    SECRET_KEY = "development-only-key-not-for-production-use-0123456789abcdefghijklmnop"

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "bootstrap",
    "simple_history",
    "axes",
    "django_celery_beat",
    "povertycase",
    "regions",
    "opd",
    "households",
    "interventions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "povertycase.urls"
WSGI_APPLICATION = "povertycase.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opd.context_processors.access",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process worker and the web request read while the other writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
# A filter's empty choice (django-filter), where a filter does not name its own.
FILTERS_EMPTY_CHOICE_LABEL = _("All")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "recalculate-province-nightly": {
        "task": "interventions.tasks.recalculate_nightly",
        "schedule": crontab(
            hour=env.int("RECALC_NIGHTLY_HOUR", default=1), minute=0
        ),  # Asia/Jakarta
    },
    "tier3-daily-checks": {
        "task": "interventions.tasks.tier3_daily_checks",
        "schedule": crontab(hour=env.int("TIER3_DAILY_HOUR", default=5), minute=30),
    },
}
# Households per chunk of a batch recalculation (one transaction, one progress step each).
RECALC_CHUNK_SIZE = env.int("RECALC_CHUNK_SIZE", default=2000)
# Seconds to rest between chunks, to spare the database during office hours (0: no rest).
RECALC_CHUNK_PAUSE = env.float("RECALC_CHUNK_PAUSE", default=0.0)
# Business groups (tier 3): size limits; activating a group below the minimum is refused.
GROUP_MIN_MEMBERS = env.int("GROUP_MIN_MEMBERS", default=5)
GROUP_MAX_MEMBERS = env.int("GROUP_MAX_MEMBERS", default=20)
# Days a KUR loan may be behind its schedule before the field worker gets a follow-up.
KUR_ARREARS_FOLLOW_UP_DAYS = env.int("KUR_ARREARS_FOLLOW_UP_DAYS", default=30)
# Worker processes a batch recalculation evaluates its chunks in (PostgreSQL; chunks are still
# committed in order). 1: in the calling process.
RECALC_PROCESSES = env.int("RECALC_PROCESSES", default=1)
# Largest delivery evidence file (photo or PDF) accepted, in bytes (default 5 MiB).
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=5 * 1024 * 1024)
# Field visits: the largest photo accepted (bytes, before resizing), the longest side a stored
# photo keeps (pixels), photos per visit, how far (metres) a visit's GPS point may be from the
# household before it is flagged, and the cadence: days between visits per pathway stage
# ("tier1=30,tier2=30,..."); a stage left out (exited) is not scheduled.
VISIT_PHOTO_MAX_BYTES = env.int("VISIT_PHOTO_MAX_BYTES", default=8 * 1024 * 1024)
VISIT_PHOTO_MAX_SIDE = env.int("VISIT_PHOTO_MAX_SIDE", default=1600)
VISIT_PHOTOS_MAX = env.int("VISIT_PHOTOS_MAX", default=5)
VISIT_FAR_METRES = env.int("VISIT_FAR_METRES", default=2000)
VISIT_CADENCE_DAYS = env.dict(
    "VISIT_CADENCE_DAYS",
    cast={"value": int},
    default={
        "registered": 7,
        "verified": 30,
        "tier1": 30,
        "tier2": 30,
        "tier3": 30,
        "graduated": 90,
    },
)
# Households due within this many days appear on the field worker's list ("due soon").
VISIT_DUE_SOON_DAYS = env.int("VISIT_DUE_SOON_DAYS", default=7)

REST_FRAMEWORK = {
    # Token first: a request without credentials then gets 401 with a WWW-Authenticate header
    # (with the session first DRF answers 403, which tells a client nothing about logging in).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "povertycase.api.PagePagination",
    "DEFAULT_PARSER_CLASSES": [
        "povertycase.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "povertycase.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"user": "2000/hour"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PovertyCase API",
    "DESCRIPTION": "Register and case management of households in extreme poverty, Banten.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Security: secure by default in production; `manage.py check --deploy` is clean there.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Personal data: upload limits and how often demo logins are printed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
