"""gunicorn configuration for the web tier.

    gunicorn -c shop/gunicorn.conf.py

The web process only reads rows, saves uploads and enqueues jobs: it never imports torch,
so it runs plain sync workers on a CPU host (GPU work happens on `manage.py imagegen_worker`
hosts). Every value can be overridden from the environment; see docs/deploy.md.
"""
import multiprocessing
import os

# Settings: production unless the environment says otherwise.
raw_env = [f"DJANGO_SETTINGS_MODULE={os.environ.get('DJANGO_SETTINGS_MODULE', 'shop.settings_production')}"]
wsgi_app = "shop.wsgi:application"

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Uploads are I/O bound (hashing, storage writes): a few processes with a few threads each.
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(2 * multiprocessing.cpu_count() + 1, 8))))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Large uploads to S3 can take a while; a hung request is still killed eventually.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so slow leaks never accumulate; jitter avoids all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Heartbeat files in memory, not on a possibly slow disk (containers: /dev/shm).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
# The proxy in front (terminating TLS) is trusted for X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "imagegen-web"

# gunicorn's control socket defaults to one path per user; several web processes on one host
# (or the tests) would fight over it. Opt in by naming a path.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
