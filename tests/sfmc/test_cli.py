"""`rokt-activity sfmc connect|install` as the real console script."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from activity.devtools.fake_sfmc import FakeSfmc

KEY = Fernet.generate_key().decode()


async def cli(db: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "SFMC_"))}
    env |= {"ACTIVITY_DATABASE_URL": f"sqlite:///{db}", "ACTIVITY_ENCRYPTION_KEY": KEY}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activity", "sfmc", *args, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def connections(db: Path) -> list[tuple[str, str, bytes]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT mid, grant_type, secret_token FROM sfmc_connections"))


async def test_connect_checks_the_secret_before_storing_it(
    tmp_path: Path, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    db = tmp_path / "a.db"
    base = ("connect", "--mid", "100000001", "--client-id", "sfmc-cid", "--auth-url", url)
    code, _, err = await cli(db, *base, stdin="wrong-secret\n")
    assert code == 1 and "refused" in err and "wrong-secret" not in err
    assert connections(db) == []
    code, out, err = await cli(db, *base, stdin="sfmc-csecret\n")
    assert code == 0, err
    assert "connected business unit 100000001" in out
    ((mid, grant, token),) = connections(db)
    assert (mid, grant) == ("100000001", "client_credentials")
    assert b"sfmc-csecret" not in token  # encrypted
    code, out, _ = await cli(db, "install", "--mid", "100000001")
    assert code == 0 and "created" in out and "Contact Key to SubscriberExternalId" in out
    code, out, _ = await cli(db, "install", "--mid", "100000001")
    assert code == 0 and "already installed; nothing changed" in out


async def test_install_without_a_connection_says_so(tmp_path: Path) -> None:
    code, _, err = await cli(tmp_path / "a.db", "install", "--mid", "100000001")
    assert code == 1 and "no Marketing Cloud connection" in err
