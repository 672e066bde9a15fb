import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xip_portal.settings.local")
# production settings give the web server's processes a connection pool
os.environ.setdefault("WEB_SERVER_PROCESS", "True")
application = get_wsgi_application()
