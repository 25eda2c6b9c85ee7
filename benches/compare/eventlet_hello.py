"""The hello endpoint as a WSGI app on eventlet's server (benches/compare/run).

usage: python eventlet_hello.py PORT
"""
import sys
import warnings

warnings.simplefilter("ignore")  # eventlet announces its own deprecation

import eventlet  # noqa: E402
from eventlet import wsgi  # noqa: E402


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Hello, World!"]


wsgi.server(eventlet.listen(("127.0.0.1", int(sys.argv[1]))), app,
            log_output=False, max_size=10000)
