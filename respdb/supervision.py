"""Running under a service manager: `daemonize` and `supervised`, as redis-server does them.

- daemonize yes: the server forks into the background, in a session of its own, with its
  standard streams on /dev/null (so an empty `logfile` logs nowhere); the pid file defaults to
  /var/run/redis.pid.
- supervised systemd (or auto, when systemd's NOTIFY_SOCKET is set): READY=1 and a STATUS
  line go to systemd once the dataset is loaded. supervised upstart (or auto with
  UPSTART_JOB set): the server stops itself with SIGSTOP when ready, as upstart's
  `expect stop` waits for.
"""

from __future__ import annotations

import os
import signal
import socket
from typing import Any

DEFAULT_PIDFILE = "/var/run/redis.pid"


def daemonize(config: Any) -> None:
    if os.fork():
        os._exit(0)  # the parent returns to the shell at once
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(fd, std)
    if fd > 2:
        os.close(fd)
    if not config["pidfile"]:
        config.values["pidfile"] = DEFAULT_PIDFILE


def mode(config: Any) -> str:
    """The supervision in effect: "systemd", "upstart" or "no"."""
    wanted = config["supervised"]
    if wanted == "auto":
        if os.environ.get("UPSTART_JOB"):
            return "upstart"
        return "systemd" if os.environ.get("NOTIFY_SOCKET") else "no"
    if wanted == "systemd" and not os.environ.get("NOTIFY_SOCKET"):
        return "no"
    return wanted


def notify_systemd(message: str) -> bool:
    """One sd_notify message to NOTIFY_SOCKET (an abstract socket when it starts with @)."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), path)
    except OSError:
        return False
    return True


def ready(engine: Any) -> None:
    """The dataset is loaded and clients are served: tell the service manager."""
    how = mode(engine.config)
    if how == "systemd":
        if engine.replication.upstream is None:
            notify_systemd("STATUS=Ready to accept connections\n")
        else:
            notify_systemd(
                "STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n"
            )
        notify_systemd("READY=1\n")
    elif how == "upstart":
        os.environ.pop("UPSTART_JOB", None)
        os.kill(os.getpid(), signal.SIGSTOP)
