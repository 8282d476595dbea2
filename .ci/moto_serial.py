"""moto's DynamoDB server, one request at a time.

moto's server is threaded and its backends take no lock, so two
transactions that arrive together can both pass their conditions and both
write: an isolation DynamoDB never breaks (it serialises writes to an
item and cancels overlapping transactions). Serving one request at a time
keeps moto's validation and semantics and restores that isolation.

Usage: python3 .ci/moto_serial.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serial(environ, start_response):
    with lock:
        return list(app(environ, start_response))


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), serial, threaded=True)
