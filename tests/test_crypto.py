from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from activity.config import ConfigError
from activity.crypto import Keyring, key_file_for, keyring_for


def test_round_trip_and_no_plaintext() -> None:
    ring = Keyring([Fernet.generate_key().decode()])
    token = ring.encrypt("super-secret-value")
    assert b"super-secret-value" not in token
    assert ring.decrypt(token) == "super-secret-value"


def test_rotation_first_key_encrypts_all_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Keyring([old]).encrypt("s")
    both = Keyring([new, old])
    assert both.decrypt(token) == "s"
    rotated = both.rotate(token)
    assert Keyring([new]).decrypt(rotated) == "s"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        Keyring([old]).decrypt(rotated)


def test_bad_key_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="ACTIVITY_ENCRYPTION_KEY"):
        Keyring(["not-a-fernet-key"])


def test_sqlite_default_generates_a_private_key_file_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = keyring_for(url, ())
    path = key_file_for(tmp_path / "x.db")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = keyring_for(url, ())
    assert second.decrypt(first.encrypt("v")) == "v"


def test_postgres_requires_a_key() -> None:
    with pytest.raises(ConfigError, match="required with PostgreSQL"):
        keyring_for("postgresql://localhost/x", ())
