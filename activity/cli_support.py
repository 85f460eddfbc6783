"""What the command line needs besides its commands: help layout, argument types that refuse
nonsense, a port check before anything starts, and one line for each way a start can fail."""

from __future__ import annotations

import argparse
import errno
import logging
import math
import socket
import sqlite3
import sys

from activity.config import ConfigError
from activity.errors import StorageUnavailable

SERVE_EPILOG = """\
environment (see README.md, Configuration):
  ACTIVITY_PUBLIC_URL      required: the https:// base URL Journey Builder reaches
                           (http:// only for localhost)
  ACTIVITY_JWT_SECRET      required: the installed package's JWT Signing Secret
  ACTIVITY_DATABASE_URL    sqlite:///PATH or postgresql://...  (default sqlite:///./activity.db)
  ACTIVITY_ENCRYPTION_KEY  Fernet key(s); required with PostgreSQL, SQLite keeps a key file
  ROKT_API_URL             Rokt Calendar API base (default https://api.roktcalendar.com);
                           http://127.0.0.1:8090 for `rokt-activity fake-rokt`
  ROKT_TIMEOUT_SECONDS     seconds one Rokt call may take (default 10)
  ROKT_RESEND_WAIT_SECONDS     a create whose try got no answer goes again once Rokt has
                               had this long to list it (default 600)
  ROKT_RESEND_RECHECK_SECONDS  meanwhile, how often Rokt is asked again (default 120)
  ACTIVITY_APP_KEY         the Journey Builder Activity component's Unique Key (config.json)
  ACTIVITY_METRICS_TOKEN   bearer token for GET /metrics (unset: /metrics is off)
  ACTIVITY_LOG_LEVEL       debug, info, warning or error (default info)
  ACTIVITY_INSTANCE_ID     this instance's name in outbox leases (several instances)
  ACTIVITY_DELIVERY_LEASE_SECONDS  outbox lease, above twice ROKT_TIMEOUT_SECONDS (default 60)
  ACTIVITY_RETENTION_DAYS  finished work is deleted after this many days (default 7)
  ACTIVITY_SUBSCRIBE_CONCURRENCY      action subscribe: Rokt calls at once (default 32)
  ACTIVITY_SUBSCRIBE_TIMEOUT_SECONDS  action subscribe: time before a 503, under 20 (default 8)
  SFMC_CLIENT_ID, SFMC_CLIENT_SECRET  the package's Web App integration (unset: /sso/* is off)
  SFMC_AUTH_URL            auth base URL (default https://{tssd}.auth.marketingcloudapis.com)
  SFMC_SUBDOMAIN           your tenant subdomain, put in place of {tssd}
  SFMC_SCOPES              scopes asked at sign-in
                           (default offline data_extensions_read data_extensions_write)
"""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its sentence (none for required options and switches);
    epilogs keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.required:
            return action.help
        return super()._get_help_string(action)


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, got {value}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"a positive number of seconds, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, got {text!r}")
    return value


def ensure_can_listen(host: str, port_number: int) -> None:
    """Fail before opening the database when the address is taken or not ours to bind.

    SO_REUSEADDR as the server itself binds, so a port in TIME_WAIT is not refused."""
    try:
        infos = socket.getaddrinfo(host, port_number, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}:{port_number}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(_bind_failure(host, port_number, exc)) from None


def _bind_failure(host: str, port_number: int, exc: OSError) -> str:
    where = f"cannot listen on {host}:{port_number}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use by another process (choose another with --port)"
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need privileges)"
    return f"{where}: {(exc.strerror or str(exc)).lower()}"


def failure_line(exc: BaseException) -> str | None:
    """One line saying why the command failed, or None for a bug (its traceback is logged)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, StorageUnavailable):
        return exc.message
    if isinstance(exc, sqlite3.Error):
        return f"SQLite: {exc}"
    if isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EACCES):
        return f"cannot start: {(exc.strerror or str(exc)).lower()}"
    return None


def report(line: str) -> None:
    """JSON once the served process logs JSON (every line it writes is), plain otherwise."""
    from activity.ops.logs import json_logging_active

    if json_logging_active():
        logging.getLogger("activity.cli").critical("rokt-activity: %s", line)
    else:
        print(f"rokt-activity: {line}", file=sys.stderr)
