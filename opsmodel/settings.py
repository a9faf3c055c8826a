"""Opsmodel settings: one file, read from the environment, safe defaults for development."""

from __future__ import annotations

import datetime
import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


# Development is the default: DEBUG on, SQLite, no setting required. Production is DEBUG=false,
# and then the values below must be given, or the app refuses to start and says why.
DEBUG = env_bool("DEBUG", True)
PRODUCTION = not DEBUG

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 50 characters when DEBUG is off; "
        'make one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'
    )
SECRET_KEY = SECRET_KEY or "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must name the host names the app is served at when DEBUG is off, "
        "comma-separated: ALLOWED_HOSTS=ops.example.com"
    )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for origin in CSRF_TRUSTED_ORIGINS:
    if urlsplit(origin).scheme not in {"http", "https"} or not urlsplit(origin).netloc:
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS must list origins with their scheme, like "
            f"https://ops.example.com, not {origin!r}"
        )

INSTALLED_APPS = [
    "opsmodel",
    "systems",
    "processes",
    "sops",
    # Processes carried out, step by step: runs, on top of the map's three levels.
    "opsmodel.runs",
    # Comments, with @mentions, on SOPs, processes, steps and run steps.
    "opsmodel.comments",
    # Across the levels, on top of them: My work, people, search, health, export and import.
    "opsmodel.front",
    # On top: telling people what is theirs (digests, alerts, the inbox), from every layer.
    "opsmodel.notify",
    # The REST API (django-ninja) and personal tokens, on top of everything it serves.
    "opsmodel.api",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "mptt",
    "axes",
    # The queue of background tasks (django.tasks), in the database: no other server needed.
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Pages go out compressed to a browser that accepts it (a sixth of the bytes on a phone),
    # quickly (opsmodel.middleware.COMPRESS_LEVEL); each is padded against BREACH, and CSRF
    # tokens are masked per response. Static files are not its business: whitenoise, placed
    # before it, serves them compressed.
    "opsmodel.middleware.GZipMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A GET request reads the map's stamps once, for all it draws (opsmodel.mapcache).
    "opsmodel.mapcache.HoldStampsMiddleware",
    "opsmodel.middleware.PersonMiddleware",
    "opsmodel.middleware.AddressesMiddleware",
    "opsmodel.middleware.InactivityTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "opsmodel.middleware.HtmxLoginRedirectMiddleware",
    # Last: it handles the lockout of a login that failed too often.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsmodel.urls"

# Background work (Django's tasks): queued in the database, run by `manage.py runworker`, which
# also enqueues each of PERIODIC_TASKS every minute (see the README, "The worker").
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PERIODIC_TASKS = [
    # Schedules start their runs on time (opsmodel/runs/tasks.py).
    "opsmodel.runs.tasks.start_due_runs_task",
    # Digests whose hour has come, the outbox of emails, old notifications forgotten.
    "opsmodel.notify.tasks.notify_task",
    # Webhook deliveries due, first or again (opsmodel/api/webhooks.py).
    "opsmodel.api.webhooks.webhooks_task",
    # Markdown uploads left in their preview for more than a day (opsmodel/front/markdown_views.py).
    "opsmodel.front.markdown_views.forget_old_uploads_task",
]


def tasks_from_url(url: str) -> dict:
    """TASKS_URL → the queue of background tasks in Redis (django-tasks-rq), for workers on
    several machines: redis://host:6379/0 (rediss:// with TLS). Unset: the queue stays in the
    database, which needs no other server."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"TASKS_URL must be a redis:// address like redis://127.0.0.1:6379/0, not {url!r} "
            "(leave it unset to keep the tasks in the database)"
        )
    try:
        import django_tasks_rq  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "TASKS_URL needs the Redis extra: pip install 'opsmodel[redis]'"
        ) from None
    return {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


TASKS_URL = os.environ.get("TASKS_URL", "")
if TASKS_URL:
    TASKS = tasks_from_url(TASKS_URL)
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    # A job may run this long (RQ's default is 3 minutes): as long as an email's claim holds.
    RQ_QUEUES = {"default": {"URL": TASKS_URL, "DEFAULT_TIMEOUT": 10 * 60}}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # Django's {% url %}, quicker for ids (opsmodel/addresses.py), in every template.
            "builtins": ["opsmodel.templatetags.addresses", "opsmodel.templatetags.dates"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "opsmodel.context_processors.frame",
                "systems.context_processors.systems_tree",
                "opsmodel.notify.context_processors.unread",
                # Last: it replaces the CSRF token while a page is drawn to be kept.
                "opsmodel.mapcache.csrf_placeholder",
            ],
        },
    },
]

# Form fields drawn as Django draws them, their plainest widgets and labels in Python.
FORM_RENDERER = "opsmodel.forms.QuickRenderer"

WSGI_APPLICATION = "opsmodel.wsgi.application"


def database_from_url(url: str, prepared: bool = True) -> dict:
    """postgres://user:password@host:port/name → Django's DATABASES entry.

    `prepared`: each query a connection makes again is prepared on the server (psycopg's
    server-side binding and prepared statements): parsed and planned once per connection
    rather than once per request. The pages drawn afresh answered 15–50% more requests under
    load on PostgreSQL (tests/benchmark/FINDINGS.md). Off (DATABASE_PREPARED=false) behind a
    pooler that hands each transaction another server connection and cannot keep them
    (PgBouncer in transaction mode before 1.21)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"DATABASE_URL must look like postgres://user:password@host:5432/name, not {url!r}"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"server_side_binding": True, "prepare_threshold": 1} if prepared else {},
    }


# Beside the system's other temporary files, one per checkout.
SQLITE_TEST_PATH = Path(tempfile.gettempdir()) / (
    f"opsmodel-test-{hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]}.sqlite3"
)

if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": database_from_url(
            os.environ["DATABASE_URL"], prepared=env_bool("DATABASE_PREPARED", True)
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Take the write lock when a transaction starts, so concurrent writers queue up
            # instead of failing half-way with "database is locked".
            "OPTIONS": {"transaction_mode": "IMMEDIATE"},
            # The test database is a file, not memory: then the live server of the browser
            # tests opens connections of its own, as app servers do, instead of sharing the
            # test's one connection between threads (which mixed up two queries' rows).
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH", str(SQLITE_TEST_PATH))},
        }
    }

# Caches (opsmodel/mapcache.py). "default" lives in each process's memory: drawn pages and the
# sidebar, kept under keys that change when what they show changes. "stamp" holds the tokens
# that change with every write, one for each topic written (the map, runs, read confirmations…),
# and must be shared by every app process: a
# directory by default (one machine, any number of workers), Redis with CACHE_URL=redis://…
# when the app runs on several machines.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL and urlsplit(CACHE_URL).scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// address, not {CACHE_URL!r}")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
    "stamp": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("CACHE_DIR", str(BASE_DIR / "var" / "stamp")),
    },
}

AUTH_USER_MODEL = "opsmodel.User"


def person_url(user) -> str:
    from opsmodel.addresses import address

    return address("front:person", user.username)


# A person's page is one of the pages across the levels (opsmodel.front), which the base layer
# that defines the person does not know: the settings, which know every layer, tie the two.
ABSOLUTE_URL_OVERRIDES = {"opsmodel.user": person_url}

AUTHENTICATION_BACKENDS = [
    # First: refuses a login while its username and address are locked out.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, each person's permissions kept while the map stays the same.
    "opsmodel.backends.KeptPermissionsBackend",
    # Django's own, for the sessions it logged in: its checks read the permissions kept above.
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# How long a link to set one's password (a new person's, or "Forgot your password?") works;
# each works once. The email says how long (opsmodel.passwords).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 60 * 60)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "front:start"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files (pictures and files attached to SOPs) go through Django's storage API: a
# folder on this machine by default (MEDIA_ROOT, var/media), or, for several app servers, an
# S3-compatible bucket through django-storages (see storage_from_env and the README). They are
# served by the app itself (sops.views.attachment), which checks who may read them: MEDIA_URL
# is never served as it stands.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media-is-not-served/"


def storage_from_env() -> dict:
    """FILE_STORAGE=s3 → an S3-compatible bucket (django-storages, which must be installed),
    configured by its own AWS_* variables; unset or "local" → the folder MEDIA_ROOT."""
    kind = os.environ.get("FILE_STORAGE", "local")
    if kind == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"FILE_STORAGE must be local or s3, not {kind!r}")
    try:
        import storages  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "FILE_STORAGE=s3 needs django-storages: pip install 'django-storages[s3]'"
        ) from None
    options = {
        "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", ""),
        "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
    }
    if not options["bucket_name"]:
        raise ImproperlyConfigured("FILE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": storage_from_env(),
    # In production whitenoise serves compressed files under content-hashed names, cached
    # forever; in development and tests the plain storage needs no collectstatic.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Sessions live in the database, so any number of app servers can share them. A session ends
# after INACTIVITY_TIMEOUT seconds without a request (see InactivityTimeoutMiddleware).
INACTIVITY_TIMEOUT = env_int("INACTIVITY_TIMEOUT", 8 * 60 * 60)
SESSION_COOKIE_AGE = INACTIVITY_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Login throttling (django-axes, database handler): after 5 failures a username is locked out
# from that address for 15 minutes, then may try again. Locking by username *and* address
# means nobody can lock a colleague out from elsewhere, and no lockout lasts forever.
# Requests per API token (opsmodel.api): "600/m", "50/s", "10000/h"…
API_RATE = os.environ.get("API_RATE", "600/m")
# Webhooks call public addresses only, unless this is "true" (a private network's own tools).
WEBHOOKS_ALLOW_PRIVATE = os.environ.get("WEBHOOKS_ALLOW_PRIVATE", "").lower() == "true"

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind PROXY_COUNT trusted proxies (load balancer, TLS terminator), the client's address is the
# one the proxies appended to X-Forwarded-For: not the proxy's own (one person's failures would
# lock a username out for everyone), nor one the client wrote there (opsmodel/client_ip.py).
PROXY_COUNT = env_int("PROXY_COUNT", 0)
if PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"PROXY_COUNT must be 0 or more, not {PROXY_COUNT}")
AXES_CLIENT_IP_CALLABLE = "opsmodel.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "opsmodel.client_ip.login_username"
AXES_VERBOSE = False

# Content-Security-Policy (Django's own): scripts and styles only from this site, scripts also
# with the per-request nonce; nothing inline, no plugins, no framing, no <base> tricks.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "connect-src": [CSP.SELF],
    # The players of videos linked alone on a line of an SOP (opsmodel/markdown.py), no other.
    "frame-src": [
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
        "https://www.loom.com",
    ],
    "font-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

if PRODUCTION:
    # whitenoise serves the collected static files (in development, runserver does).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    # Behind a load balancer that terminates TLS, set TRUST_X_FORWARDED_PROTO=true.
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # A load balancer's health check speaks plain HTTP to the app server.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Pictures and files attached to SOPs (sops/attachments.py): which kinds, and how big. Each is
# checked by its bytes, not its name; SVG and HTML are never accepted (a browser runs them).
ATTACHMENT_IMAGE_TYPES = env_list("ATTACHMENT_IMAGE_TYPES", ["png", "jpeg", "gif", "webp"])
ATTACHMENT_FILE_TYPES = env_list(
    "ATTACHMENT_FILE_TYPES", ["pdf", "docx", "xlsx", "pptx", "csv", "txt", "zip"]
)
ATTACHMENT_IMAGE_MAX_BYTES = env_int("ATTACHMENT_IMAGE_MAX_MB", 10) * 1024 * 1024
ATTACHMENT_FILE_MAX_BYTES = env_int("ATTACHMENT_FILE_MAX_MB", 25) * 1024 * 1024
# The exported map carries the attachments' bytes (base64) up to this much in all; beyond it,
# each further file is listed without its bytes, and the import says which were left out.
EXPORT_ATTACHMENTS_MAX_BYTES = env_int("EXPORT_ATTACHMENTS_MAX_MB", 100) * 1024 * 1024

# A map of more systems than this opens folded below its first two levels (the map page and the
# sidebar), each folded branch fetched when opened: the page stays small however large the map.
MAP_FOLD_OVER = 60

# Importing Markdown (opsmodel/front/markdown_import.py): at most so many Markdown files and
# pictures, each Markdown file at most IMPORT_MAX_FILE_MB (pictures: ATTACHMENT_IMAGE_MAX_MB),
# and at most IMPORT_MAX_MB of them in all, counted as they are unpacked.
IMPORT_MAX_FILES = env_int("IMPORT_MAX_FILES", 2000)
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_MB", 2) * 1024 * 1024
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_MB", 200) * 1024 * 1024
if min(IMPORT_MAX_FILES, IMPORT_MAX_FILE_BYTES, IMPORT_MAX_BYTES) < 1:
    raise ImproperlyConfigured(
        "IMPORT_MAX_FILES, IMPORT_MAX_FILE_MB and IMPORT_MAX_MB must be 1 or more"
    )
# The preview of an import posts up to two fields a row (its level, and its owner if it has
# one), a row for each file and folder: Django's default of 1,000 fields would refuse a preview
# of a few hundred files.
DATA_UPLOAD_MAX_NUMBER_FIELDS = max(1000, IMPORT_MAX_FILES * 4 + 100)

# The scope checks (sops/health.py): an SOP estimated at more than SOP_SITTING_MINUTES is more
# than one sitting. A new SOP is due for review every SOP_REVIEW_DAYS unless it says otherwise.
SOP_SITTING_MINUTES = env_int("SOP_SITTING_MINUTES", 120)
SOP_REVIEW_DAYS = env_int("SOP_REVIEW_DAYS", 180)
if not 1 <= SOP_SITTING_MINUTES <= 480 or not 7 <= SOP_REVIEW_DAYS <= 730:
    raise ImproperlyConfigured(
        "SOP_SITTING_MINUTES must be 1 to 480 (minutes) and SOP_REVIEW_DAYS 7 to 730 (days)"
    )


def mailer_from_url(url: str) -> dict:
    """EMAIL_URL → Django's mailer: smtp://user:password@host:587?tls=1 (or ?ssl=1, or smtps://),
    console:// (printed), file:///path/to/folder (one file per email)."""
    parts = urlsplit(url)
    options = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    yes = {"1", "true", "yes", "on"}
    if parts.scheme in {"smtp", "smtps"} and parts.hostname:
        tls = options.get("tls", "").lower() in yes
        ssl = parts.scheme == "smtps" or options.get("ssl", "").lower() in yes
        if tls and ssl:
            raise ImproperlyConfigured("EMAIL_URL asks for both tls and ssl: choose one")
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": parts.hostname,
                "port": parts.port or (465 if ssl else 587 if tls else 25),
                "username": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "use_tls": tls,
                "use_ssl": ssl,
                "timeout": 20,
            },
        }
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "file" and parts.path:
        return {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": unquote(parts.path)},
        }
    raise ImproperlyConfigured(
        "EMAIL_URL must look like smtp://user:password@mail.example.com:587?tls=1 "
        f"(or console://, or file:///a/folder), not {url!r}"
    )


# Email (digests and alerts, opsmodel.notify): EMAIL_URL says how it leaves. In production it
# must be given; in development emails are written to var/mail/, one file each, so nothing
# leaves the machine by accident (EMAIL_URL=console:// prints them instead).
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if PRODUCTION and not EMAIL_URL:
    raise ImproperlyConfigured(
        "EMAIL_URL must say how email is sent when DEBUG is off, for example "
        "EMAIL_URL=smtp://user:password@mail.example.com:587?tls=1"
    )
MAILERS = {"default": mailer_from_url(EMAIL_URL or f"file://{BASE_DIR / 'var' / 'mail'}")}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Opsmodel <opsmodel@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Where the app is reached, for the links in emails: https://ops.example.com. Required in
# production; the development server's address otherwise.
SITE_URL = os.environ.get("SITE_URL", "" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in {"http", "https"} or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured(
        "SITE_URL must be the address people open the app at, with its scheme, like "
        f"https://ops.example.com, not {SITE_URL!r}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # Django's loggers write through the root's handler alone: its own console handler as well
    # printed every line twice (the worker's "Task … state=…", each once). No ADMINS are set,
    # so its default mail handler sent nothing.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
