"""Service settings: one frozen value built by the CLI (from the environment) or by tests."""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///./activity.db"
DEFAULT_ROKT_API_URL = "https://api.roktcalendar.com"
DEFAULT_SFMC_AUTH_URL = "https://{tssd}.auth.marketingcloudapis.com"
DEFAULT_SFMC_SCOPES = "offline data_extensions_read data_extensions_write"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
ROKT_TIMEOUT_SECONDS = 10.0
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    public_url: str
    jwt_secret: str = field(repr=False)
    database_url: str = DEFAULT_DATABASE_URL
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    app_key: str = ""
    rokt_api_url: str = DEFAULT_ROKT_API_URL
    max_body_bytes: int = 256 * 1024
    # A body must arrive within this many seconds of its headers (JB's take milliseconds), and
    # at most this many may be arriving at once: a slow sender costs a socket, nothing more.
    body_read_seconds: float = 10.0
    max_slow_body_reads: int = 1024
    # /readyz commits a one-row write at most this often (cached in between).
    readiness_probe_seconds: float = 5.0
    # Beyond this many concurrent executes, answer 503 at once (JB retries) to bound memory.
    max_executes_in_flight: int = 512
    # Delivery tuning; tests shorten these, production keeps the defaults.
    # execute wakes the local worker; polling finds work accepted by other instances.
    delivery_poll_seconds: float = 0.25
    # Minimum time between two delivery rounds that are not draining a backlog.
    delivery_round_interval_seconds: float = 0.2
    delivery_batch_size: int = 500
    delivery_lease_seconds: float = 60.0
    # Before repeating a create whose answer never came, how long to allow Rokt's background
    # processing (seed 002: "up to few minutes") and how often to look (activity/rokt/resend.py).
    rokt_visibility_wait_seconds: float = 600.0
    rokt_recheck_seconds: float = 120.0
    rokt_timeout_seconds: float = ROKT_TIMEOUT_SECONDS
    # The action `subscribe` calls Rokt inside execute: this many at once per process, and
    # each gives up (503, JB retries) after this long, well inside JB's 20 s execute timeout.
    subscribe_concurrency: int = 32
    subscribe_timeout_seconds: float = 8.0
    session_max_age_seconds: int = 8 * 3600
    run_delivery: bool = True  # also the sync worker (webhooks -> Marketing Cloud)
    # Webhooks arriving within this many seconds share one data-extension upsert (an upsert
    # and a status poll each): rows reach Marketing Cloud a few seconds later, in few calls.
    sync_round_interval_seconds: float = 5.0
    sync_poll_seconds: float = 1.0
    # Waits between polls of an async upsert's status before trying the batch again later.
    sync_status_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0)
    # Finished work (answers, sent and dead items) older than this is deleted. JB retries come
    # within seconds, so a week of answers keeps every retry deduplicated.
    retention_days: float = 7.0
    instance_id: str = ""
    # Bearer token Prometheus must send to GET /metrics; empty turns /metrics off (404).
    metrics_token: str = field(default="", repr=False)
    # Set by `serve --workers N` for its workers: where every worker keeps its metric values
    # (prometheus_client's multiprocess mode), so a scrape of any worker counts them all.
    metrics_dir: str = ""
    log_level: str = "info"
    # The enhanced package's Web App integration, for /sso/*; empty client ID turns SSO off.
    sfmc_client_id: str = ""
    sfmc_client_secret: str = field(default="", repr=False)
    sfmc_auth_url: str = DEFAULT_SFMC_AUTH_URL  # `{tssd}` is replaced by the tenant subdomain
    sfmc_subdomain: str = ""  # the tenant a sign-in starts at, before SFMC names one
    sfmc_scopes: str = DEFAULT_SFMC_SCOPES

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sfmc_client_id and self.sfmc_client_secret)

    @property
    def sso_redirect_uri(self) -> str:
        return f"{self.public_base}/sso/callback"

    @property
    def delivery_owner(self) -> str:
        """Who holds outbox leases. SQLite has one instance, so a fixed name lets a restart
        resume its own leases at once; on PostgreSQL an unnamed instance gets a unique name,
        because two instances sharing one would hand back each other's work on restart."""
        if self.instance_id:
            return self.instance_id
        if self.sqlite_path is not None:
            return "local"
        return f"{socket.gethostname()}-{os.getpid()}"

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set; see the configuration table in README.md")
    return value


def check_public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return url
    raise ConfigError(
        "ACTIVITY_PUBLIC_URL must be an https:// URL (http:// is allowed only for "
        f"localhost and 127.0.0.1), got {url!r}"
    )


def check_database_url(url: str) -> str:
    if url.startswith(DATABASE_SCHEMES):
        if url.startswith("sqlite:///") and not url.removeprefix("sqlite:///"):
            raise ConfigError("ACTIVITY_DATABASE_URL sqlite:/// needs a file path after it")
        return url
    scheme = url.partition(":")[0] if "://" in url else ""
    what = f"unsupported scheme {scheme!r}" if scheme else "no scheme"
    raise ConfigError(
        f"ACTIVITY_DATABASE_URL has {what}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def check_rokt_api_url(url: str) -> str:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme in ("http", "https") and parts.hostname and not parts.query:
        return url.rstrip("/")
    raise ConfigError(
        f"ROKT_API_URL must be an http:// or https:// base URL such as {DEFAULT_ROKT_API_URL}, "
        f"got {url!r}"
    )


def _positive_seconds(
    env: Mapping[str, str], name: str, default: float, unit: str = "seconds"
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a positive number of {unit}, got {raw!r}")
    return value


def _lease_seconds(env: Mapping[str, str], rokt_timeout: float) -> float:
    """A worker starts no Rokt call after half its lease, and a call may take the whole Rokt
    timeout: with half the lease under the timeout, another instance could take over items
    whose call is still running, and send them twice."""
    lease = _positive_seconds(env, "ACTIVITY_DELIVERY_LEASE_SECONDS", 60.0)
    if lease / 2 <= rokt_timeout:
        raise ConfigError(
            f"ACTIVITY_DELIVERY_LEASE_SECONDS must be above {2 * rokt_timeout:g} (half of it "
            f"must exceed the {rokt_timeout:g} s ROKT_TIMEOUT_SECONDS), got {lease:g}"
        )
    return lease


# config.json gives JB 20 s per execute: a subscribe must answer (even 503) before that.
JB_EXECUTE_TIMEOUT_SECONDS = 20.0


def _subscribe_limits(env: Mapping[str, str]) -> tuple[int, float]:
    """The action subscribe's Rokt calls: at most this many at once, each within this long."""
    timeout = _positive_seconds(env, "ACTIVITY_SUBSCRIBE_TIMEOUT_SECONDS", 8.0)
    if timeout >= JB_EXECUTE_TIMEOUT_SECONDS:
        raise ConfigError(
            "ACTIVITY_SUBSCRIBE_TIMEOUT_SECONDS must be under Journey Builder's "
            f"{JB_EXECUTE_TIMEOUT_SECONDS:g} s execute timeout (config.json), got {timeout:g}"
        )
    raw = env.get("ACTIVITY_SUBSCRIBE_CONCURRENCY", "").strip()
    if not raw:
        return 32, timeout
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise ConfigError(
            f"ACTIVITY_SUBSCRIBE_CONCURRENCY must be a whole number from 1 to 10000, got {raw!r}"
        )
    return int(raw), timeout


def log_level_from_env(env: Mapping[str, str]) -> str:
    level = env.get("ACTIVITY_LOG_LEVEL", "").strip().lower() or "info"
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"ACTIVITY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}"
        )
    return level


TSSD_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


def check_sfmc(env: Mapping[str, str]) -> dict[str, str]:
    """The SFMC_* variables; checked only when SFMC_CLIENT_ID is set (SSO on)."""
    client_id = env.get("SFMC_CLIENT_ID", "").strip()
    auth_url = (env.get("SFMC_AUTH_URL", "").strip() or DEFAULT_SFMC_AUTH_URL).rstrip("/")
    values = {
        "sfmc_client_id": client_id,
        "sfmc_client_secret": env.get("SFMC_CLIENT_SECRET", "").strip(),
        "sfmc_auth_url": auth_url,
        "sfmc_subdomain": env.get("SFMC_SUBDOMAIN", "").strip(),
        "sfmc_scopes": " ".join(env.get("SFMC_SCOPES", "").split()) or DEFAULT_SFMC_SCOPES,
    }
    if not client_id:
        return values
    if not values["sfmc_client_secret"]:
        raise ConfigError("SFMC_CLIENT_SECRET is not set (SFMC_CLIENT_ID is)")
    sample = auth_url.replace("{tssd}", "tenant")
    parts = urlsplit(sample)
    if not (
        (parts.scheme == "https" and parts.hostname)
        or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)
    ) or (parts.query or parts.fragment):
        raise ConfigError(
            "SFMC_AUTH_URL must be an https:// base URL (http:// only for localhost), "
            f"got {auth_url!r}"
        )
    if "{tssd}" in auth_url and not TSSD_PATTERN.match(values["sfmc_subdomain"]):
        raise ConfigError(
            "SFMC_SUBDOMAIN must be your tenant subdomain (the part before "
            ".auth.marketingcloudapis.com) when SFMC_AUTH_URL holds {tssd}"
        )
    return values


def settings_from_env(env: Mapping[str, str] | None = None, *, serving: bool = True) -> Settings:
    """Only the CLI calls this. `serving=False` relaxes what `serve` alone needs."""
    env = os.environ if env is None else env
    if serving:
        public_url = check_public_url(_require(env, "ACTIVITY_PUBLIC_URL"))
        jwt_secret = _require(env, "ACTIVITY_JWT_SECRET")
    else:
        public_url = env.get("ACTIVITY_PUBLIC_URL", "http://localhost:8080")
        jwt_secret = env.get("ACTIVITY_JWT_SECRET", "")
    rokt_timeout = _positive_seconds(env, "ROKT_TIMEOUT_SECONDS", ROKT_TIMEOUT_SECONDS)
    keys = tuple(k.strip() for k in env.get("ACTIVITY_ENCRYPTION_KEY", "").split(",") if k.strip())
    sfmc = check_sfmc(env)
    subscribe_concurrency, subscribe_timeout = _subscribe_limits(env)
    return Settings(
        public_url=public_url,
        jwt_secret=jwt_secret,
        database_url=check_database_url(
            env.get("ACTIVITY_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        ),
        encryption_keys=keys,
        app_key=env.get("ACTIVITY_APP_KEY", ""),
        rokt_api_url=check_rokt_api_url(
            env.get("ROKT_API_URL", "").strip() or DEFAULT_ROKT_API_URL
        ),
        instance_id=env.get("ACTIVITY_INSTANCE_ID", ""),
        metrics_token=env.get("ACTIVITY_METRICS_TOKEN", "").strip(),
        rokt_timeout_seconds=rokt_timeout,
        delivery_lease_seconds=_lease_seconds(env, rokt_timeout),
        rokt_visibility_wait_seconds=_positive_seconds(env, "ROKT_RESEND_WAIT_SECONDS", 600.0),
        rokt_recheck_seconds=_positive_seconds(env, "ROKT_RESEND_RECHECK_SECONDS", 120.0),
        retention_days=_positive_seconds(env, "ACTIVITY_RETENTION_DAYS", 7.0, unit="days"),
        subscribe_concurrency=subscribe_concurrency,
        subscribe_timeout_seconds=subscribe_timeout,
        log_level=log_level_from_env(env),
        sfmc_client_id=sfmc["sfmc_client_id"],
        sfmc_client_secret=sfmc["sfmc_client_secret"],
        sfmc_auth_url=sfmc["sfmc_auth_url"],
        sfmc_subdomain=sfmc["sfmc_subdomain"],
        sfmc_scopes=sfmc["sfmc_scopes"],
    )
