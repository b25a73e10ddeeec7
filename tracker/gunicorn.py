"""gunicorn settings for the web process (Procfile: ``gunicorn -c python:tracker.gunicorn tracker.wsgi``).

Every value can be changed through the environment without editing this file. The defaults suit
a host behind a TLS-terminating, buffering reverse proxy (nginx, a load balancer) on the same
machine or network.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Where to listen: loopback unless told otherwise (the proxy in front connects to it).
_port = os.environ.get("PORT", "8000")
bind = [os.environ.get("WEB_BIND", "127.0.0.1") + ":" + _port]

# gunicornc's control socket: one per port in the project's var/ folder, so that two servers on one
# machine (two `make run`s on different ports) never share one; WEB_CONTROL_SOCKET chooses another.
_var_dir = os.environ.get("LODESTONE_VAR_DIR") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "var")
control_socket = os.environ.get("WEB_CONTROL_SOCKET") or os.path.join(_var_dir, f"gunicorn-{_port}.ctl")

# Synchronous workers, one request at a time each: the usual choice for Django behind a buffering
# proxy. 2 x cores + 1 is the common starting point; each holds one database connection.
worker_class = "sync"
# Cores this process may use (a container's or cgroup's share, not the whole host's).
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else multiprocessing.cpu_count()
workers = _int("WEB_CONCURRENCY", _cores * 2 + 1)

# A request running longer than this is killed and its worker replaced (exports are the slowest).
timeout = _int("WEB_TIMEOUT", 60)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 30)
keepalive = 5

# Workers are replaced after a number of requests (with jitter, so not all at once): memory that a
# worker accumulates is returned regularly.
max_requests = _int("WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 200)

# Bounds on what a client may send before Django sees it.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# The proxies whose X-Forwarded-* headers gunicorn believes (comma-separated addresses).
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Worker heartbeats on tmpfs, so a slow disk cannot make healthy workers look dead. gunicorn makes
# its files there with mkstemp (private, unpredictable names).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  # nosec B108

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# No query strings in the access log: search terms stay out of it.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
