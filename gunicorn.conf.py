"""gunicorn settings for deepfake-web (web process only: analyses run in the worker).

Override with environment variables: DEEPFAKE_BIND (host:port), DEEPFAKE_WEB_WORKERS,
DEEPFAKE_WEB_THREADS.
"""

import os

bind = os.environ.get("DEEPFAKE_BIND", "127.0.0.1:8000")
# Threads keep slow uploads from blocking other requests; requests themselves are short
# because no analysis ever runs inside one.
worker_class = "gthread"
workers = int(os.environ.get("DEEPFAKE_WEB_WORKERS", "2"))
threads = int(os.environ.get("DEEPFAKE_WEB_THREADS", "4"))
timeout = 120  # an upload of 200 MB over a slow link
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
capture_output = True
wsgi_app = "wsgi:app"
