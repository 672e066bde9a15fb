"""Settings shared by every environment; values that differ come from the environment."""

from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from kombu import Queue

# Lets model admins and managers be subscripted with their types at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "xip_portal",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "governance",
    "markets",
    "engine",
    "engine.chain",
    "trading",
]

MIDDLEWARE = [
    "xip_portal.request_log.RequestLogMiddleware",
    "xip_portal.request_limits.RefusedCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "xip_portal.roles.StaffTwoFactorMiddleware",
    "xip_portal.errors.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "xip_portal.urls"
WSGI_APPLICATION = "xip_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "xip_portal.roles.navigation",
            ],
            # {% url %} with its URLs kept in the process (replaces Django's tag)
            "builtins": ["xip_portal.templatetags.kept_urls"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django turns psycopg's prepared statements off (prepare_threshold None), and then a
    # cursor's execute(prepare=True) is ignored too. Django's own cursors bind on the client
    # and never prepare whatever this says; the cursors that bind on the server (the engine
    # writer's batch statements, engine.projections.binding_cursor) prepare the statements
    # they run for a few rows, instead of parsing them again in every batch. Each run is
    # still planned for its parameters: a generic plan chosen while a table is small stays
    # (the writer's update of earlier orders went from 0.1 to 12 ms a batch as the orders
    # grew, on a plan made for a few hundred).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("prepare_threshold", 5)
    options.setdefault("options", "-c plan_cache_mode=force_custom_plan")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Throttling and allauth rate limits count here; use Redis (CACHE_URL) when several processes serve.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "xip_portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's database sessions, read with fewer instructions (xip_portal.sessions)
SESSION_ENGINE = "xip_portal.sessions"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login; the address must be confirmed before the first login.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Exchange OS] "
ACCOUNT_ADAPTER = "xip_portal.accounts.AccountAdapter"
# Sign-up also asks for the display name others see (never the e-mail address).
ACCOUNT_SIGNUP_FORM_CLASS = "xip_portal.forms.SignupForm"
# Failed logins: 20 a minute from one source across all accounts, and 5 in 5 minutes from
# one source on one account (the adapter keys "key" by source and account together), so
# guessing is slow and nobody elsewhere can lock the owner out.
ACCOUNT_RATE_LIMITS = {"login_failed": "20/m/ip,5/5m/key"}
# How many reverse proxies in front of the server append to X-Forwarded-For (0: none, the
# peer's address is the client's); the login limits and the API's IP allow-lists agree
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Exchange OS portal"
# Accept the code of the step before or after: phones drift by some seconds.
MFA_TOTP_TOLERANCE = 1

# Where people reach the portal: the base of every link in an email.
PORTAL_URL = env("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Exchange OS portal <noreply@localhost>")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/htmx-ext-sse", BASE_DIR / "node_modules" / "htmx-ext-sse" / "dist"),
    ("vendor/lightweight-charts", BASE_DIR / "node_modules" / "lightweight-charts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploaded documents (KYC) live outside any public path and are served only through views
# that check the viewer; nothing maps MEDIA_URL.
MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private_media")))

# The largest body (files apart) any request may have; API JSON bodies are held to it too.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "xip_portal.request_limits.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous call gets 401 with a WWW-Authenticate challenge.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "xip_portal.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "xip_portal.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_ANON_RATE", default="120/min"),
        "user": env("API_USER_RATE", default="1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exchange OS portal API",
    "DESCRIPTION": (
        "Propose markets through XIPs, review KYC applications, and trade spot, perpetual and "
        "prediction markets. Authenticate with a session or with `Authorization: Token <key>`. "
        "Errors are JSON objects `{code, message, fields}`. The OKX v5-compatible API under "
        "/api/v5 answers in OKX's envelope `{code, msg, data}`, signed with OK-ACCESS-* headers."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several models have a `kind`; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "RiskGroupKindEnum": "governance.risk_groups.models.RiskGroup.Kind",
        "KycApplicationKindEnum": "governance.kyc.models.KycApplication.Kind",
        "KycDocumentKindEnum": "governance.kyc.models.KycDocument.Kind",
        "KycStatusEnum": "governance.kyc.models.KycStatus",
        "MembershipStatusEnum": "governance.memberships.models.MembershipStatus",
        "MembershipTierEnum": "governance.memberships.models.Membership.Tier",
        "ProposalStatusEnum": "governance.proposals.models.ProposalStatus",
        "ProposalTypeEnum": "governance.proposals.models.ProposalType",
        "MarketStatusEnum": "markets.models.MarketStatus",
        "MarketTypeEnum": "governance.risk_groups.models.MarketType",
        "OrderSideEnum": [("buy", "buy"), ("sell", "sell")],
        "OrderStatusEnum": "engine.models.Order.Status",
        "TransferStatusEnum": "engine.models.Transfer.Status",
        "WithdrawalStatusEnum": "engine.chain.models.Withdrawal.Status",
        "ReceiptStatusEnum": [("applied", "applied"), ("pending", "pending")],
    },
}

# Content Security Policy: everything is served from this origin; no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# The chain provider: "embedded" is web3's in-process tester chain; otherwise a JSON-RPC URL.
CHAIN_RPC_URL = env("CHAIN_RPC_URL", default="embedded")
# The operator's key (hex): it deploys the contracts, is the registry's registrar and the price
# feed's admin, and relays withdrawal claims. The embedded chain uses its first funded test
# account when it is empty.
CHAIN_OPERATOR_KEY = env("CHAIN_OPERATOR_KEY", default="")
# The settler's key (hex): the only one that commits settlement batches, whose withdrawal roots
# the vault pays against; it must differ from the operator's, so the registrar cannot move
# vault funds. The embedded chain uses its second funded test account when it is empty.
CHAIN_SETTLER_KEY = env("CHAIN_SETTLER_KEY", default="")
# Whether the chain tasks deploy the contracts themselves to a JSON-RPC chain that has none
# (a local node: the demo pointed at anvil, `make stack`); otherwise `manage.py chain_deploy`
# does it, once. The embedded chain, new in every process, is always deployed to.
CHAIN_DEPLOY_IF_MISSING = env.bool("CHAIN_DEPLOY_IF_MISSING", default=False)
# Blocks a vault deposit must be buried under before it is credited (its own included).
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=3)
# Seconds between two settlement batches of a risk group (and between two deposit scans).
CHAIN_SETTLEMENT_SECONDS = env.float("CHAIN_SETTLEMENT_SECONDS", default=5.0)
# A risk group's settlement is also queued as soon as its journal has grown this many
# commands past the last batch queued (0: on the clock only).
CHAIN_SETTLEMENT_COMMANDS = env.int("CHAIN_SETTLEMENT_COMMANDS", default=10_000)

# Celery: JSON only, acks after the task ran for engine work, bounded run time, named queues.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue("default"), Queue("engine"), Queue("chain")]
# Celery takes the first pattern that matches: the narrower one comes first.
CELERY_TASK_ROUTES = {
    "engine.chain.*": {"queue": "chain"},
    "engine.*": {"queue": "engine"},
}
# Acknowledge after the run and requeue a task whose worker died: only with Redis's ack
# emulation on (see below; off by default, so no task relies on it). Every task is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis's ack emulation is off for every worker (CELERY_ACK_EMULATION=true turns it back on):
# when Redis goes away mid-acknowledgement its restore path stops the worker for good (kombu
# 5.7: "Couldn't ack", then "Unrecoverable error: AttributeError"), and it guards nothing we
# need. A message is then gone once a worker took it, and a worker killed mid-task loses that
# run; what every task does is kept elsewhere and done again: a writer's wake-up is
# acknowledged on receipt anyway (the journal is the truth, and beat's time tick wakes the
# writer); every other task is one of beat's periodic, idempotent passes over the database or
# the chain (timers, transfers, registry sync, settlement batches, the deposit and payout
# scan), so a lost run is the next tick's and a retry lost with its worker likewise.
# Payouts are no task: the vault pays a withdrawal once per id, claimed in a request.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "ack_emulation": env.bool("CELERY_ACK_EMULATION", default=False),
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "clear-expired-sessions": {"task": "xip_portal.tasks.sessions_clear_expired", "schedule": 3600},
    "kyc-memberships-expire": {
        "task": "governance.memberships.tasks.memberships_expire",
        "schedule": 3600,
    },
    "xip-last-call": {
        "task": "governance.proposals.tasks.proposals_last_call_conclude",
        "schedule": 60,
    },
    "xip-bonds": {
        "task": "governance.proposals.tasks.proposals_bonds_sweep",
        "schedule": 30,
    },
    "xip-stagnant": {
        "task": "governance.proposals.tasks.proposals_stagnant_mark",
        "schedule": 3600,
    },
    "market-timers": {"task": "markets.tasks.markets_timers", "schedule": 60},
    # undisputed prediction outcomes settle when their dispute window lapses
    "market-resolutions": {"task": "markets.tasks.resolutions_settle", "schedule": 10},
    # a perpetual whose oracle price is older than its policy halts (and resumes on a price)
    "market-oracles-stale": {"task": "markets.tasks.oracles_halt_stale", "schedule": 10},
    # perpetuals of oracle kind "pricefeed" read the on-chain PriceFeed (once per new round)
    "market-oracles-price-feeds": {"task": "markets.tasks.oracles_read_price_feeds", "schedule": 5},
    # the scheduled time tick of every risk group's engine (GTD expiries, funding, closes)
    "engine-time-tick": {"task": "engine.tasks.shards_tick", "schedule": 1.0},
    "engine-transfers": {"task": "engine.tasks.transfers_advance", "schedule": 5.0},
    # the chain: registry mirror, one settlement batch per risk group, the deposit indexer
    "chain-registry": {"task": "engine.chain.tasks.registry_sync", "schedule": 30.0},
    "chain-settlement": {
        "task": "engine.chain.tasks.settlement_commit_due",
        "schedule": CHAIN_SETTLEMENT_SECONDS,
    },
    "chain-deposits": {
        "task": "engine.chain.tasks.deposits_index",
        "schedule": CHAIN_SETTLEMENT_SECONDS,
    },
}

# Fernet keys (urlsafe base64 of 32 bytes, comma-separated) that encrypt API-key secrets at
# rest: the first encrypts, all decrypt (rotation). Required: no default outside test and demo.
API_KEY_ENCRYPTION_KEYS: list[str] = env.list("API_KEY_ENCRYPTION_KEYS")

# Where the trading APIs count requests per key, shared by every web process (Redis); without
# a Redis URL (the embedded demo) each process counts its own.
TRADING_RATE_LIMIT_URL = env("TRADING_RATE_LIMIT_URL", default=CELERY_BROKER_URL)
# OKX's request limits per key and instrument; off only to measure (bench/http_orders.py)
TRADING_RATE_LIMITS = env.bool("TRADING_RATE_LIMITS", default=True)
# The order fast path (trading.okx.fast_path): OKX's order endpoints answered by the ASGI
# server outside Django's request cycle, on PostgreSQL, through a pool of this many
# connections per web process.
ORDER_FAST_PATH = env.bool("ORDER_FAST_PATH", default=True)
# ASGI applications wrapped around Django's (xip_portal.asgi), innermost first
ASGI_WRAPPERS = [
    "xip_portal.threaded.SyncViewsInThreads",
    "trading.okx.fast_path.OrderFastPath",
    "xip_portal.collector.FrozenAfterWarmUp",
]
# The threads of a web process that run synchronous views (xip_portal.threaded); each holds
# at most one of the process's database connections (WEB_DATABASE_POOL) while it serves
WEB_THREADS = env.int("WEB_THREADS", default=8)
# After this many requests a web process has loaded what its pages and APIs use: what it
# then holds is frozen out of the garbage collector's reach (xip_portal.collector)
WEB_GC_FREEZE_AFTER_REQUESTS = env.int("WEB_GC_FREEZE_AFTER_REQUESTS", default=1000)
ORDER_FAST_PATH_CONNECTIONS = env.int("ORDER_FAST_PATH_CONNECTIONS", default=8)
# How old the public part of a market page (book, trades, figures, chart) may be when the
# page opens while its shard keeps changing: the page's live stream replaces it at once
# (trading.market_page.market_public). 0: always the engine's latest batch.
MARKET_PUBLIC_STALE_SECONDS = env.float("MARKET_PUBLIC_STALE_SECONDS", default=0.5)

# The engine service: commands per writer batch (one transaction each), and how many
# commands between two snapshots of a shard (a snapshot bounds recovery time).
ENGINE_BATCH_SIZE = env.int("ENGINE_BATCH_SIZE", default=2000)
# After a small batch, the writer waits this long before it reads the inbox again, so that
# a steady trickle of orders is applied in batches of several, not one by one (every
# batch costs its statements and a commit): adds at most this to an outcome's latency.
ENGINE_BATCH_GATHER_MS = env.int("ENGINE_BATCH_GATHER_MS", default=5)
ENGINE_SNAPSHOT_EVERY = env.int("ENGINE_SNAPSHOT_EVERY", default=100_000)
# A writer task hands over to a fresh task after this long, so that no time limit ever
# cuts a batch; the engine stays in the worker's memory across tasks.
ENGINE_RUN_SECONDS = env.float("ENGINE_RUN_SECONDS", default=60.0)

# The password of the demo logins that `manage.py seed_demo` creates (not a secret: demo only).
DEMO_PASSWORD = env("DEMO_PASSWORD", default="exchange-os-demo")

# Structured logs: one JSON line per request (request id, user, status, duration).
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
