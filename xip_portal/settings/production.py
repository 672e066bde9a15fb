"""Production: every secret and address from the environment; passes `check --deploy`."""

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set the ALLOWED_HOSTS environment variable.")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Off only for a full stack on one machine over plain HTTP (`make stack`); check --deploy says so.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The web server's processes borrow connections from a pool per process (Django's psycopg
# pool) for each request: a live stream's synchronous steps run on a thread made for that
# request, where a connection kept per thread (CONN_MAX_AGE) would be opened anew each time.
# Only the web entry points (asgi.py, wsgi.py) ask for the pool: Celery's threads keep their
# own connection each, and the engine writer holds its shard's advisory lock on its session,
# which a pool would hand on to another thread.
WEB_DATABASE_POOL = env.int("WEB_DATABASE_POOL", default=16)
if env.bool("WEB_SERVER_PROCESS", default=False) and WEB_DATABASE_POOL > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": WEB_DATABASE_POOL,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
