"""The ASGI application: pages, APIs and the live streams (Server-Sent Events, which need a
server that keeps many responses open at once). Served by uvicorn:
`uvicorn xip_portal.asgi:application` (production), `manage.py serve_demo` (the demo)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xip_portal.settings.local")
# production settings give the web server's processes a connection pool
os.environ.setdefault("WEB_SERVER_PROCESS", "True")
django_application = get_asgi_application()

from trading.okx.fast_path import OrderFastPath  # noqa: E402 - needs Django set up

# OKX's order endpoints take a leaner path for the common case (trading.okx.fast_path)
application = OrderFastPath(django_application)
