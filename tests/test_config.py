from __future__ import annotations

import os
import subprocess
import sys

import pytest

from activity.config import ConfigError, check_public_url, settings_from_env
from activity.devtools.bench.procs import free_port

BASE_ENV = {"ACTIVITY_PUBLIC_URL": "https://ca.example.com", "ACTIVITY_JWT_SECRET": "s3cret"}


def test_defaults_follow_design() -> None:
    s = settings_from_env(BASE_ENV)
    assert s.database_url == "sqlite:///./activity.db"
    assert s.rokt_api_url == "https://api.roktcalendar.com"
    assert s.app_key == ""
    assert "s3cret" not in repr(s)


@pytest.mark.parametrize("missing", ["ACTIVITY_PUBLIC_URL", "ACTIVITY_JWT_SECRET"])
def test_missing_required_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        settings_from_env(env)


@pytest.mark.parametrize(
    "url", ["https://ca.example.com", "http://localhost:8080", "http://127.0.0.1:8080/base"]
)
def test_accepted_public_urls(url: str) -> None:
    assert check_public_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://ca.example.com", "ftp://x", "ca.example.com", "https://", "http://10.0.0.1"]
)
def test_rejected_public_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="ACTIVITY_PUBLIC_URL"):
        check_public_url(url)


def test_encryption_keys_are_split_for_rotation() -> None:
    s = settings_from_env({**BASE_ENV, "ACTIVITY_ENCRYPTION_KEY": " k1 , k2,"})
    assert s.encryption_keys == ("k1", "k2")


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))}
    return subprocess.run(
        [sys.executable, "-m", "activity", "serve", "--port", str(free_port())],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ACTIVITY_JWT_SECRET": "x"}, "ACTIVITY_PUBLIC_URL"),
        ({"ACTIVITY_PUBLIC_URL": "https://ca.example.com"}, "ACTIVITY_JWT_SECRET"),
        (
            {"ACTIVITY_PUBLIC_URL": "http://ca.example.com", "ACTIVITY_JWT_SECRET": "x"},
            "ACTIVITY_PUBLIC_URL",
        ),
    ],
)
def test_serve_refuses_to_start_with_one_clear_line(env: dict[str, str], named: str) -> None:
    done = _serve(env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert named in lines[0]


def test_cli_never_echoes_unrecognized_arguments() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "activity",
            "settings",
            "set",
            "--mid",
            "1",
            "--account-code",
            "a",
            "--client-id",
            "c",
            "--client-secret",
            "hunter2-value",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "hunter2-value" not in done.stderr + done.stdout
    assert "unrecognized arguments" in done.stderr


def test_delivery_owner_is_unique_per_process_on_postgres_unless_named() -> None:
    sqlite = settings_from_env(BASE_ENV)
    assert sqlite.delivery_owner == "local"
    pg = settings_from_env({**BASE_ENV, "ACTIVITY_DATABASE_URL": "postgresql://h/db"})
    assert pg.delivery_owner.endswith(f"-{os.getpid()}")
    named = settings_from_env({**BASE_ENV, "ACTIVITY_INSTANCE_ID": "node-a"})
    assert named.delivery_owner == "node-a"


def test_retention_days_from_env() -> None:
    assert settings_from_env(BASE_ENV).retention_days == 7.0
    assert settings_from_env({**BASE_ENV, "ACTIVITY_RETENTION_DAYS": "30"}).retention_days == 30.0
    with pytest.raises(
        ConfigError, match="ACTIVITY_RETENTION_DAYS must be a positive number of days"
    ):
        settings_from_env({**BASE_ENV, "ACTIVITY_RETENTION_DAYS": "0"})


def test_subscribe_limits_from_env() -> None:
    s = settings_from_env(BASE_ENV)
    assert (s.subscribe_concurrency, s.subscribe_timeout_seconds) == (32, 8.0)
    env = {
        **BASE_ENV,
        "ACTIVITY_SUBSCRIBE_CONCURRENCY": "64",
        "ACTIVITY_SUBSCRIBE_TIMEOUT_SECONDS": "5.5",
    }
    s = settings_from_env(env)
    assert (s.subscribe_concurrency, s.subscribe_timeout_seconds) == (64, 5.5)
    for name, value, said in (
        ("ACTIVITY_SUBSCRIBE_CONCURRENCY", "0", "from 1 to 10000, got '0'"),
        ("ACTIVITY_SUBSCRIBE_CONCURRENCY", "-3", "got '-3'"),
        ("ACTIVITY_SUBSCRIBE_TIMEOUT_SECONDS", "20", "under Journey Builder's 20 s"),
        ("ACTIVITY_SUBSCRIBE_TIMEOUT_SECONDS", "nan", "positive number of seconds"),
    ):
        with pytest.raises(ConfigError, match=f"{name} must .*{said}"):
            settings_from_env({**BASE_ENV, name: value})


def test_resend_timings_from_env() -> None:
    s = settings_from_env(BASE_ENV)
    assert (s.rokt_visibility_wait_seconds, s.rokt_recheck_seconds) == (600.0, 120.0)
    env = {**BASE_ENV, "ROKT_RESEND_WAIT_SECONDS": "30", "ROKT_RESEND_RECHECK_SECONDS": "2.5"}
    s = settings_from_env(env)
    assert (s.rokt_visibility_wait_seconds, s.rokt_recheck_seconds) == (30.0, 2.5)
    for name in ("ROKT_RESEND_WAIT_SECONDS", "ROKT_RESEND_RECHECK_SECONDS"):
        for value in ("0", "-1", "inf", "soon"):
            with pytest.raises(ConfigError, match=f"{name} must be a positive number"):
                settings_from_env({**BASE_ENV, name: value})


SFMC_ENV = {
    **BASE_ENV,
    "SFMC_CLIENT_ID": "web-app-id",
    "SFMC_CLIENT_SECRET": "web-app-secret-51e0",
    "SFMC_SUBDOMAIN": "mc563885gzs27c5t9-63k636ttgm",
}


def test_sso_is_off_without_a_client_id_and_defaults_follow_design() -> None:
    s = settings_from_env(BASE_ENV)
    assert not s.sso_enabled
    assert s.sfmc_auth_url == "https://{tssd}.auth.marketingcloudapis.com"
    assert s.sfmc_scopes == "offline data_extensions_read data_extensions_write"
    assert s.sso_redirect_uri == "https://ca.example.com/sso/callback"


def test_sso_settings_from_env() -> None:
    s = settings_from_env({**SFMC_ENV, "SFMC_SCOPES": "  offline   data_extensions_read "})
    assert s.sso_enabled and s.sfmc_client_id == "web-app-id"
    assert s.sfmc_subdomain == "mc563885gzs27c5t9-63k636ttgm"
    assert s.sfmc_scopes == "offline data_extensions_read"
    assert "web-app-secret-51e0" not in repr(s)
    local = settings_from_env({**SFMC_ENV, "SFMC_AUTH_URL": "http://127.0.0.1:8091/"})
    assert local.sfmc_auth_url == "http://127.0.0.1:8091"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SFMC_CLIENT_SECRET": ""}, "SFMC_CLIENT_SECRET"),
        ({"SFMC_SUBDOMAIN": ""}, "SFMC_SUBDOMAIN"),
        ({"SFMC_SUBDOMAIN": "evil.com/x"}, "SFMC_SUBDOMAIN"),
        ({"SFMC_AUTH_URL": "http://{tssd}.auth.example.com"}, "SFMC_AUTH_URL"),
        ({"SFMC_AUTH_URL": "ftp://x"}, "SFMC_AUTH_URL"),
        ({"SFMC_AUTH_URL": "https://{tssd}.auth.example.com?x=1"}, "SFMC_AUTH_URL"),
    ],
)
def test_bad_sso_settings_are_named(change: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings_from_env({**SFMC_ENV, **change})
