"""`rokt-activity settings set|list|delete|rotate-key`, run as the real console script."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

CLI = str(Path(sys.prefix) / "bin" / "rokt-activity")
SECRET_A = "cli-secret-A-5e8d1f"
SECRET_B = "cli-secret-B-93ac07"
K1 = Fernet.generate_key().decode()
K2 = Fernet.generate_key().decode()


def _env(db: Path, keys: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))}
    return {
        **base,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{db}",
        "ACTIVITY_ENCRYPTION_KEY": keys,
        **extra,
    }


def run(
    db: Path, keys: str, *args: str, stdin: str = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "settings", *args],
        input=stdin,
        env=_env(db, keys, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stored_tokens(db: Path) -> dict[str, bytes]:
    with sqlite3.connect(db) as conn:
        return {
            mid: bytes(token)
            for mid, token in conn.execute("SELECT mid, secret_token FROM settings")
        }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    first = run(
        path,
        K1,
        "set",
        "--mid",
        "500000001",
        "--account-code",
        "acme-au",
        "--client-id",
        "client-a",
        "--account-id",
        "1234",
        stdin=SECRET_A + "\n",
    )
    assert first.returncode == 0, first.stderr
    assert "saved settings for MID 500000001" in first.stdout
    second = run(
        path,
        K1,
        "set",
        "--mid",
        "500000002",
        "--account-code",
        "acme-nz",
        "--client-id",
        "client-b",
        "--enterprise-id",
        "500000000",
        "--enterprise-default",
        ROKT_CLIENT_SECRET=SECRET_B,
    )
    assert second.returncode == 0, second.stderr
    return path


def _all_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))


def test_set_encrypts_and_list_never_prints_the_secret(db: Path) -> None:
    listed = run(db, K1, "list")
    assert listed.returncode == 0, listed.stderr
    assert (
        "500000001" in listed.stdout and "acme-au" in listed.stdout and "client-a" in listed.stdout
    )
    assert "500000002" in listed.stdout and "(default)" in listed.stdout
    assert "stored" in listed.stdout
    for secret in (SECRET_A, SECRET_B):
        assert secret not in listed.stdout + listed.stderr
        assert secret.encode() not in _all_bytes(db)
    tokens = stored_tokens(db)
    assert Fernet(K1).decrypt(tokens["500000001"]).decode() == SECRET_A
    assert Fernet(K1).decrypt(tokens["500000002"]).decode() == SECRET_B


def test_rotate_key_re_encrypts_under_the_first_key(db: Path) -> None:
    with pytest.raises(InvalidToken):
        Fernet(K2).decrypt(stored_tokens(db)["500000001"])
    rotated = run(db, f"{K2},{K1}", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 2 stored secret(s)" in rotated.stdout
    tokens = stored_tokens(db)
    assert Fernet(K2).decrypt(tokens["500000001"]).decode() == SECRET_A
    assert Fernet(K2).decrypt(tokens["500000002"]).decode() == SECRET_B
    for token in tokens.values():
        with pytest.raises(InvalidToken):
            Fernet(K1).decrypt(token)
    # After rotation the old key can be dropped: the CLI works with K2 alone.
    listed = run(db, K2, "list")
    assert listed.returncode == 0 and "acme-au" in listed.stdout
    assert SECRET_A not in listed.stdout + rotated.stdout + rotated.stderr


def test_rotate_key_is_idempotent(db: Path) -> None:
    assert run(db, f"{K2},{K1}", "rotate-key").returncode == 0
    again = run(db, f"{K2},{K1}", "rotate-key")
    assert again.returncode == 0
    assert Fernet(K2).decrypt(stored_tokens(db)["500000001"]).decode() == SECRET_A


def test_delete_removes_one_business_unit(db: Path) -> None:
    deleted = run(db, K1, "delete", "--mid", "500000001")
    assert deleted.returncode == 0 and "deleted settings for MID 500000001" in deleted.stdout
    assert set(stored_tokens(db)) == {"500000002"}
    again = run(db, K1, "delete", "--mid", "500000001")
    assert again.returncode == 1 and "no settings for MID 500000001" in again.stderr
    with sqlite3.connect(db) as conn:
        actions = conn.execute(
            "SELECT action, user_id FROM settings_audit WHERE mid = '500000001' ORDER BY id"
        ).fetchall()
    assert [a for a, _ in actions] == ["save", "delete"]
    assert all(user.startswith("cli:") for _, user in actions)


def test_set_reads_the_secret_only_from_stdin_or_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    on_argv = run(
        db,
        K1,
        "set",
        "--mid",
        "1",
        "--account-code",
        "a",
        "--client-id",
        "c",
        "--client-secret",
        SECRET_A,
    )
    assert on_argv.returncode == 2, "there is no --client-secret option"
    missing = run(db, K1, "set", "--mid", "1", "--account-code", "a", "--client-id", "c")
    assert missing.returncode == 2 and "stdin or ROKT_CLIENT_SECRET" in missing.stderr


def test_webhook_url_is_made_once_and_rotated(db: Path) -> None:
    env = {"ACTIVITY_PUBLIC_URL": "https://activity.example.com"}
    first = run(db, K1, "webhook-url", "--mid", "100", **env)
    again = run(db, K1, "webhook-url", "--mid", "100", **env)
    rotated = run(db, K1, "webhook-url", "--mid", "100", "--rotate", **env)
    assert first.returncode == again.returncode == rotated.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith("https://activity.example.com/webhooks/rokt/")
    assert len(url.rsplit("/", 1)[1]) >= 43
    assert again.stdout.strip() == url
    assert rotated.stdout.strip() not in ("", url)


def test_rotate_key_re_encrypts_webhook_urls_so_the_old_key_can_go(db: Path) -> None:
    env = {"ACTIVITY_PUBLIC_URL": "https://activity.example.com"}
    made = run(db, K1, "webhook-url", "--mid", "100", **env)
    assert made.returncode == 0, made.stderr
    rotated = run(db, f"{K2},{K1}", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 3 stored secret(s)" in rotated.stdout  # two client secrets, one URL
    assert made.stdout.strip().rsplit("/", 1)[1] not in rotated.stdout + rotated.stderr
    shown = run(db, K2, "webhook-url", "--mid", "100", **env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == made.stdout  # the same URL, shown under the new key alone


def test_rotate_key_re_encrypts_marketing_cloud_connections_too(db: Path) -> None:
    refresh = "cli-refresh-token-7b21e0"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO sfmc_connections (mid, grant_type, client_id, secret_token, auth_url, "
            "connected_at, updated_at, needs_signin) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
            ("500000001", "refresh_token", "web-app", Fernet(K1).encrypt(refresh.encode()),
             "https://t.auth.marketingcloudapis.com", 1.0, 1.0),
        )  # fmt: skip
    rotated = run(db, f"{K2},{K1}", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 3 stored secret(s)" in rotated.stdout
    with sqlite3.connect(db) as conn:
        token, needs_signin, updated = conn.execute(
            "SELECT secret_token, needs_signin, updated_at FROM sfmc_connections"
        ).fetchone()
    assert Fernet(K2).decrypt(token).decode() == refresh
    assert (needs_signin, updated) == (1, 1.0), "only the encryption changed"
    assert refresh not in rotated.stdout + rotated.stderr
