"""Encryption of stored client secrets: MultiFernet, first key encrypts, all decrypt."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from activity.config import ConfigError


class Keyring:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError("ACTIVITY_ENCRYPTION_KEY holds no key")
        try:
            self._fernets = [Fernet(k.encode("ascii")) for k in keys]
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                "ACTIVITY_ENCRYPTION_KEY must be comma-separated Fernet keys "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, secret: str) -> bytes:
        return self._multi.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._multi.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted with ACTIVITY_ENCRYPTION_KEY"
            ) from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the first key."""
        return self._multi.rotate(token)


def key_file_for(database: Path) -> Path:
    return database.with_name(database.name + ".key")


def load_or_create_key_file(path: Path, *, create: bool = True) -> list[str]:
    """The SQLite default: a key generated once into a 0600 file beside the database.

    `create=False` (read-only commands) refuses to make one."""
    if not path.exists() and create:
        return [_create_key_file(path)]
    try:
        return [k for k in path.read_text("ascii").split() if k]
    except FileNotFoundError:
        raise ConfigError(f"no key file at {path}: nothing was stored with this database") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = "it is not ASCII"
        if isinstance(exc, OSError):
            why = (exc.strerror or str(exc)).lower()
        raise ConfigError(
            f"cannot read the key file {path}: {why} (or set ACTIVITY_ENCRYPTION_KEY)"
        ) from None


def _create_key_file(path: Path) -> str:
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot create the key file {path}: {(exc.strerror or str(exc)).lower()} "
            "(is the database directory writable?)"
        ) from None
    return key.decode("ascii")


def keyring_for(database_url: str, keys: Sequence[str], *, create: bool = True) -> Keyring:
    if keys:
        return Keyring(keys)
    if database_url.startswith("sqlite:///"):
        db = Path(database_url.removeprefix("sqlite:///"))
        return Keyring(load_or_create_key_file(key_file_for(db), create=create))
    raise ConfigError("ACTIVITY_ENCRYPTION_KEY is required with PostgreSQL")
