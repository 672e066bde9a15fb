"""The ASGI application: pages, APIs and the live streams (Server-Sent Events, which need a
server that keeps many responses open at once). Served by uvicorn:
`python -m xip_portal.web_server` (production), `manage.py serve_demo` (the demo).

Django's application is wrapped by the ASGI applications named in `ASGI_WRAPPERS`
(innermost first), as MIDDLEWARE names Django's middleware: the trading room's order fast
path (trading.okx.fast_path) answers OKX's order endpoints in front of Django, and
synchronous views run on a fixed pool of threads (xip_portal.threaded)."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xip_portal.settings.local")
# production settings give the web server's processes a connection pool
os.environ.setdefault("WEB_SERVER_PROCESS", "True")
django_application = get_asgi_application()

application = django_application
for wrapper in settings.ASGI_WRAPPERS:
    application = import_string(wrapper)(application)
