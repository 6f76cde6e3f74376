import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
application = get_wsgi_application()

if os.environ.get("KEFU_KB_WARM", "1") != "0":
    # Each web server worker loads its knowledge index in a thread of its own as it starts, and
    # leaves every long load to that thread (a request would outlast the worker timeout).
    from kefu.knowledge.search import warm_up

    warm_up()
