import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("povertycase")


class PovertyCaseConfig(AppConfig):
    name = "povertycase"
    verbose_name = "PovertyCase"

    def ready(self):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.info("REDIS_URL is not set: background tasks run in-process, no worker needed.")
