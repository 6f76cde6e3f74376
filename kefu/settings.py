"""kefu settings: one file, every value from the environment.

Unset variables give the embedded default (SQLite under ``var/``, tasks in-process, local-memory
cache); setting them moves the same code to its scale configuration (STYLE.md §6).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from kefu.core.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KEFU_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under var/ (0600)."""
    given = env_str("SECRET_KEY")
    if given:
        return given
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "kefu.core",
    "kefu.audit",
    "kefu.accounts",
    "kefu.customers",
    "kefu.tickets",
    "kefu.analytics",
    "kefu.interactions",
    "kefu.quality",
    "kefu.notifications",
    "kefu.followup",
    "kefu.knowledge",
    "kefu.web",
    "kefu.portal",
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
    "kefu.core.context.RequestContextMiddleware",
    "kefu.web.middleware.IdleTimeoutMiddleware",
]

ROOT_URLCONF = "kefu.urls"
WSGI_APPLICATION = "kefu.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/w/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kefu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- database: SQLite (WAL, IMMEDIATE transactions) unless DATABASE_URL says otherwise ---
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kefu.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
if env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n: Chinese first (STYLE.md §11) ---
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "kefu" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end libraries come from the npm registry (package.json + lock, `npm ci` in `make setup`) and are
# served straight from node_modules: nothing third-party is committed.
_NODE = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    (prefix, _NODE / sub)
    for prefix, sub in (("vendor/htmx", "htmx.org/dist"), ("vendor/alpinejs", "alpinejs/dist"),
                        ("vendor/echarts", "echarts/dist"))
    if (_NODE / sub).is_dir()
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
# Pages log a user out after this many idle minutes (the cookie age above is the hard limit).
KEFU_SESSION_IDLE_MINUTES = env_int("KEFU_SESSION_IDLE_MINUTES", 30)
# Lock-out: this many failed logins for one user name within the window locks it for the window.
KEFU_LOGIN_MAX_FAILURES = env_int("KEFU_LOGIN_MAX_FAILURES", 5)
KEFU_LOGIN_WINDOW_MINUTES = env_int("KEFU_LOGIN_WINDOW_MINUTES", 15)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL")}
        if env_str("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# --- kefu's own knobs ---
# Attachments (W10 timeline carries them): size limit and the types a contact centre accepts.
KEFU_ATTACHMENT_MAX_BYTES = env_int("KEFU_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
KEFU_ATTACHMENT_TYPES = env_list(
    "KEFU_ATTACHMENT_TYPES",
    [
        "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain",
        "audio/mpeg", "audio/wav", "audio/x-wav",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/msword", "application/vnd.ms-excel", "application/zip",
    ],
)
# X1: roles that see personal data unmasked by default (need-to-know: none), and roles that may
# reveal a masked value with a reason (audited).
KEFU_PII_PLAIN_ROLES = env_list("KEFU_PII_PLAIN_ROLES", [])
KEFU_PII_REVEAL_ROLES = env_list("KEFU_PII_REVEAL_ROLES", ["agent", "team_lead", "supervisor", "admin"])
KEFU_TICKET_PREFIX = env_str("KEFU_TICKET_PREFIX", "GD")
KEFU_API_PAGE_SIZE = env_int("KEFU_API_PAGE_SIZE", 50)

# Customer portal: one-time codes (minutes valid, tries), and limits per client address per hour.
KEFU_PORTAL_CODE_MINUTES = env_int("KEFU_PORTAL_CODE_MINUTES", 10)
KEFU_PORTAL_CODE_ATTEMPTS = env_int("KEFU_PORTAL_CODE_ATTEMPTS", 5)
KEFU_PORTAL_SUBMITS_PER_HOUR = env_int("KEFU_PORTAL_SUBMITS_PER_HOUR", 10)
KEFU_PORTAL_CODES_PER_HOUR = env_int("KEFU_PORTAL_CODES_PER_HOUR", 5)
# The team whose agents see orders submitted through the portal (name); unset: the first team.
KEFU_PORTAL_TEAM = env_str("KEFU_PORTAL_TEAM", "")
# The SLA countdown turns amber when less than this share of the time promise is left.
KEFU_SLA_WARN_FRACTION = env_float("KEFU_SLA_WARN_FRACTION", 0.25, minimum=0)

# --- background jobs (issue #4): Celery. CELERY_BROKER_URL unset → the embedded default: a
# filesystem queue under var/ that `kefu serve` drains with its own worker and scheduler (no broker
# server to install); set → Redis (redis://…) or RabbitMQ (amqp://…), many workers, one beat.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
KEFU_EMBEDDED_JOBS = not env_str("CELERY_BROKER_URL")
_CELERY_QUEUE_DIR = VAR_DIR / "celery-queue"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {"data_folder_in": str(_CELERY_QUEUE_DIR), "data_folder_out": str(_CELERY_QUEUE_DIR), "store_processed": False}
    if KEFU_EMBEDDED_JOBS
    # A message a killed worker held comes back to another worker after this many seconds.
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300)}
)
if KEFU_EMBEDDED_JOBS:
    _CELERY_QUEUE_DIR.mkdir(exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a job is acknowledged when done: a killed worker's job runs again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Seconds between scheduler runs of each periodic job.
KEFU_SLA_SWEEP_SECONDS = env_int("KEFU_SLA_SWEEP_SECONDS", 30)
KEFU_DISPATCH_SECONDS = env_int("KEFU_DISPATCH_SECONDS", 15)
KEFU_FOLLOWUP_SECONDS = env_int("KEFU_FOLLOWUP_SECONDS", 300)
# E-mailed reports (issue #7): how often the scheduler looks for subscriptions whose time of day has come.
KEFU_REPORT_SWEEP_SECONDS = env_int("KEFU_REPORT_SWEEP_SECONDS", 300)
# A4: competitor names whose mention in a work order's subject the marketing report counts (none by default).
KEFU_COMPETITOR_NAMES = env_list("KEFU_COMPETITOR_NAMES", [])
KEFU_SLA_SWEEP_BATCH = env_int("KEFU_SLA_SWEEP_BATCH", 5000)
# The outbox relay (`kefu relay`): events per batch and seconds between polls when idle.
KEFU_RELAY_BATCH = env_int("KEFU_RELAY_BATCH", 500)
KEFU_RELAY_POLL_SECONDS = env_float("KEFU_RELAY_POLL_SECONDS", 0.5, minimum=0)
KEFU_RELAY_CHUNK = env_int("KEFU_RELAY_CHUNK", 50)

# SLA watch: the default escalation ladder (telecom-standards §5: owner 50 %, team lead 80 %,
# manager 100 %, director 150 %); a policy's own ladder replaces it. JSON in the environment.
_DEFAULT_LADDER = [
    {"at": 0.5, "actions": ["warn_assignee"]},
    {"at": 0.8, "actions": ["warn_assignee", "notify_team_lead"]},
    {"at": 1.0, "actions": ["breach", "notify_team_lead", "escalate"]},
    {"at": 1.5, "actions": ["notify_supervisor", "raise_priority", "reassign"]},
]
KEFU_SLA_LADDER = __import__("json").loads(env_str("KEFU_SLA_LADDER")) if env_str("KEFU_SLA_LADDER") else _DEFAULT_LADDER

# Return visits 回访 (F1): complaints and faults always by a person; others by survey, or a person
# for this share of them (sample). Within this many hours of resolution; attempts and spacing; call
# windows (local time). Cyclical visits 循环回访 for specially marked customers every N days.
KEFU_RETURN_VISIT_DELAY_HOURS = env_int("KEFU_RETURN_VISIT_DELAY_HOURS", 24)
KEFU_RETURN_VISIT_WITHIN_HOURS = env_int("KEFU_RETURN_VISIT_WITHIN_HOURS", 72)
KEFU_RETURN_VISIT_CALL_TYPES = env_list("KEFU_RETURN_VISIT_CALL_TYPES", ["complaint", "fault"])
KEFU_RETURN_VISIT_SAMPLE_PERCENT = env_int("KEFU_RETURN_VISIT_SAMPLE_PERCENT", 10)
KEFU_RETURN_VISIT_ATTEMPTS = env_int("KEFU_RETURN_VISIT_ATTEMPTS", 3)
KEFU_RETURN_VISIT_RETRY_HOURS = env_int("KEFU_RETURN_VISIT_RETRY_HOURS", 4)
KEFU_CALL_WINDOWS = env_list("KEFU_CALL_WINDOWS", ["09:00-12:00", "14:00-20:00"])
KEFU_CYCLICAL_VISIT_DAYS = env_int("KEFU_CYCLICAL_VISIT_DAYS", 30)
# Satisfaction surveys (F2): the signed link is valid this many days and answers once.
KEFU_SURVEY_DAYS = env_int("KEFU_SURVEY_DAYS", 7)
KEFU_PUBLIC_URL = env_str("KEFU_PUBLIC_URL", "http://127.0.0.1:8000")

# Notifications: SMTP for email (unset EMAIL_HOST: messages stay in the outbox), an HTTP SMS gateway
# (unset: messages stay in the outbox), retries with exponential backoff.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kefu@localhost")
KEFU_SMS_GATEWAY = env_str("KEFU_SMS_GATEWAY", "kefu.notifications.sms.OutboxOnlyGateway")
KEFU_SMS_GATEWAY_URL = env_str("KEFU_SMS_GATEWAY_URL")
KEFU_SMS_GATEWAY_TOKEN = env_str("KEFU_SMS_GATEWAY_TOKEN")
KEFU_SMS_SIGNATURE = env_str("KEFU_SMS_SIGNATURE", "【客服中心】")
KEFU_SEND_MAX_ATTEMPTS = env_int("KEFU_SEND_MAX_ATTEMPTS", 6)
KEFU_SEND_BACKOFF_SECONDS = env_int("KEFU_SEND_BACKOFF_SECONDS", 60)
# Webhooks: seconds before a slow receiver counts as failed.
KEFU_WEBHOOK_TIMEOUT = env_float("KEFU_WEBHOOK_TIMEOUT", 5, minimum=0)

# Quality inspection (Q4): the random share of contacts per channel sent to manual review, the
# seed that makes the draw repeatable, and whether every vetoed / distressed contact goes too.
KEFU_QA_SAMPLING = {
    "rates": {
        "call": env_float("KEFU_QA_SAMPLE_CALL", 0.05, minimum=0),
        "chat": env_float("KEFU_QA_SAMPLE_CHAT", 0.05, minimum=0),
        "email": env_float("KEFU_QA_SAMPLE_EMAIL", 0.02, minimum=0),
        "sms": env_float("KEFU_QA_SAMPLE_SMS", 0, minimum=0),
    },
    "seed": env_str("KEFU_QA_SAMPLE_SEED", "kefu"),
    "veto": True,
    "distress": True,
}
# Inspect each imported contact in a Celery task (on) or in the import request itself (off).
KEFU_QA_INSPECT_ASYNC = env_bool("KEFU_QA_INSPECT_ASYNC", False)
