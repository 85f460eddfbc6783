"""Every way `rokt-activity` can be started wrong ends in one clear line and a non-zero exit,
never a traceback, and a read-only command leaves nothing behind.

Each case runs the real command in an empty working directory with a clean environment."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from activity.cli import build_parser
from activity.devtools.bench.procs import free_port

KEY = Fernet.generate_key().decode()
SERVE_ENV = {"ACTIVITY_PUBLIC_URL": "http://localhost:8080", "ACTIVITY_JWT_SECRET": "x" * 40}


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    says: tuple[str, ...]  # fragments the one line must hold
    env: dict[str, str] = field(default_factory=dict)
    # Prepares the working directory; may return extra environment.
    setup: Callable[[Path], dict[str, str]] | None = None
    marks: tuple[pytest.MarkDecorator, ...] = ()
    # The case relies on file permissions, which root's capabilities override: run it without them.
    obeys_permissions: bool = False


def _key_file_is_a_directory(cwd: Path) -> dict[str, str]:
    (cwd / "activity.db.key").mkdir()
    return {}


def _unreadable_key_file(cwd: Path) -> dict[str, str]:
    key = cwd / "activity.db.key"
    key.write_text(KEY)
    key.chmod(0)
    return {}


def _garbage_key_file(cwd: Path) -> dict[str, str]:
    (cwd / "activity.db.key").write_bytes(b"\xff\xfe not a key")
    return {}


def _read_only_directory(cwd: Path) -> dict[str, str]:
    folder = cwd / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return {"ACTIVITY_DATABASE_URL": f"sqlite:///{folder / 'activity.db'}"}


AS_ROOT = os.geteuid() == 0
# As root (CI), the command runs with the capabilities that bypass file permissions dropped, so a
# mode-555 directory or a mode-000 file refuses it as it would refuse any other user.
WITHOUT_ROOT_OVERRIDES = (
    ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--") if AS_ROOT else ()
)

CASES = {
    "serve: port number out of range": Case(("serve", "--port", "99999"), ("--port", "65535")),
    "serve: port zero": Case(("serve", "--port", "0"), ("--port", "between 1 and 65535")),
    "serve: port not a number": Case(("serve", "--port", "http"), ("--port", "not a port")),
    "fake-rokt: port out of range": Case(("fake-rokt", "--port", "70000"), ("--port",)),
    "fake-rokt: negative token lifetime": Case(
        ("fake-rokt", "--token-ttl", "-1"), ("--token-ttl", "positive")
    ),
    "fake-rokt: endless token lifetime": Case(("fake-rokt", "--token-ttl", "inf"), ("positive",)),
    "demo: no contacts": Case(("demo", "--contacts", "0"), ("--contacts", "at least 1")),
    "serve: MySQL URL": Case(
        ("serve",),
        ("ACTIVITY_DATABASE_URL", "unsupported scheme 'mysql'"),
        {**SERVE_ENV, "ACTIVITY_DATABASE_URL": "mysql://foo"},
    ),
    "settings: MySQL URL": Case(
        ("settings", "list"),
        ("unsupported scheme 'mysql'",),
        {"ACTIVITY_DATABASE_URL": "mysql://foo"},
    ),
    "serve: lease that breaks the Rokt timeout rule": Case(
        ("serve",),
        ("ACTIVITY_DELIVERY_LEASE_SECONDS", "above 20"),
        {**SERVE_ENV, "ACTIVITY_DELIVERY_LEASE_SECONDS": "5"},
    ),
    "serve: lease not a number": Case(
        ("serve",),
        ("ACTIVITY_DELIVERY_LEASE_SECONDS", "positive"),
        {**SERVE_ENV, "ACTIVITY_DELIVERY_LEASE_SECONDS": "a minute"},
    ),
    "serve: retention not a number": Case(
        ("serve",),
        ("ACTIVITY_RETENTION_DAYS",),
        {**SERVE_ENV, "ACTIVITY_RETENTION_DAYS": "nan"},
    ),
    "serve: Rokt timeout zero": Case(
        ("serve",), ("ROKT_TIMEOUT_SECONDS",), {**SERVE_ENV, "ROKT_TIMEOUT_SECONDS": "0"}
    ),
    "serve: Rokt URL without scheme": Case(
        ("serve",),
        ("ROKT_API_URL", "api.rokt.example"),
        {**SERVE_ENV, "ROKT_API_URL": "api.rokt.example"},
    ),
    "serve: Rokt URL with another scheme": Case(
        ("serve",), ("ROKT_API_URL",), {**SERVE_ENV, "ROKT_API_URL": "ftp://rokt.example"}
    ),
    "serve: Rokt URL with a bad port": Case(
        ("serve",), ("ROKT_API_URL",), {**SERVE_ENV, "ROKT_API_URL": "http://127.0.0.1:99999"}
    ),
    "serve: unknown log level": Case(
        ("serve",), ("ACTIVITY_LOG_LEVEL", "loud"), {**SERVE_ENV, "ACTIVITY_LOG_LEVEL": "loud"}
    ),
    "serve: missing JWT secret": Case(
        ("serve",), ("ACTIVITY_JWT_SECRET",), {"ACTIVITY_PUBLIC_URL": "http://localhost:8080"}
    ),
    "serve: PostgreSQL unreachable": Case(
        ("serve",),
        ("cannot connect to PostgreSQL", "refused"),
        {
            **SERVE_ENV,
            "ACTIVITY_DATABASE_URL": f"postgresql://127.0.0.1:{free_port()}/activity",
            "ACTIVITY_ENCRYPTION_KEY": KEY,
        },
    ),
    "serve: PostgreSQL role missing": Case(
        ("serve",),
        ("cannot connect to PostgreSQL", 'role "no_such_role_18"'),
        {
            **SERVE_ENV,
            "ACTIVITY_DATABASE_URL": "postgresql://no_such_role_18@127.0.0.1:5432/postgres",
            "ACTIVITY_ENCRYPTION_KEY": KEY,
        },
        marks=(pytest.mark.postgres,),
    ),
    "serve: PostgreSQL without an encryption key": Case(
        ("serve",),
        ("ACTIVITY_ENCRYPTION_KEY",),
        {**SERVE_ENV, "ACTIVITY_DATABASE_URL": "postgresql://127.0.0.1/activity"},
    ),
    "serve: SQLite path that cannot be created": Case(
        ("serve",),
        ("/proc/no/such/dir/activity.db",),
        {
            **SERVE_ENV,
            "ACTIVITY_DATABASE_URL": "sqlite:////proc/no/such/dir/activity.db",
            "ACTIVITY_ENCRYPTION_KEY": KEY,
        },
    ),
    "serve: SQLite key file that cannot be created": Case(
        ("serve",),
        ("key file /proc/no/such/dir/activity.db.key",),
        {**SERVE_ENV, "ACTIVITY_DATABASE_URL": "sqlite:////proc/no/such/dir/activity.db"},
    ),
    "serve: read-only database directory (sysfs)": Case(
        ("serve",),
        ("SQLite database /sys/activity.db",),
        {
            **SERVE_ENV,
            "ACTIVITY_DATABASE_URL": "sqlite:////sys/activity.db",
            "ACTIVITY_ENCRYPTION_KEY": KEY,
        },
    ),
    "serve: read-only database directory (key file)": Case(
        ("serve",),
        ("key file /sys/activity.db.key", "permission denied"),
        {**SERVE_ENV, "ACTIVITY_DATABASE_URL": "sqlite:////sys/activity.db"},
    ),
    "serve: read-only database directory (mode 555)": Case(
        ("serve",),
        ("permission denied",),
        SERVE_ENV,
        setup=_read_only_directory,
        obeys_permissions=True,
    ),
    "serve: key file that is a directory": Case(
        ("serve",), ("key file", "activity.db.key"), SERVE_ENV, setup=_key_file_is_a_directory
    ),
    "serve: key file not ASCII": Case(
        ("serve",), ("key file", "not ASCII"), SERVE_ENV, setup=_garbage_key_file
    ),
    "serve: unreadable key file (mode 000)": Case(
        ("serve",),
        ("key file", "permission denied"),
        SERVE_ENV,
        setup=_unreadable_key_file,
        obeys_permissions=True,
    ),
    "settings list without a database": Case(("settings", "list"), ("no database at",)),
    "settings delete without a database": Case(
        ("settings", "delete", "--mid", "1"), ("no database at",)
    ),
    "settings rotate-key without a database": Case(("settings", "rotate-key"), ("no database at",)),
    "unknown command": Case(("serv",), ("invalid choice",)),
}


def _params() -> Iterator[object]:
    for name, case in CASES.items():
        yield pytest.param(case, id=name, marks=case.marks)


def run(
    argv: tuple[str, ...], env: dict[str, str], cwd: Path, *, obeys_permissions: bool = False
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_"))}
    prefix = WITHOUT_ROOT_OVERRIDES if obeys_permissions else ()
    return subprocess.run(
        [*prefix, sys.executable, "-m", "activity", *argv],
        env={**clean, "PYTHONPATH": str(Path(__file__).parent.parent), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def the_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line printed; a served command's line is a JSON log entry, read its message."""
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    line = lines[0]
    if line.startswith("{"):
        entry = json.loads(line)
        assert entry["level"] == "critical"
        return str(entry["msg"])
    return line


@pytest.mark.parametrize("case", list(_params()))
def test_a_bad_start_says_why_in_one_line(case: Case, tmp_path: Path) -> None:
    env = dict(case.env)
    if case.setup is not None:
        env.update(case.setup(tmp_path))
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run(case.argv, env, tmp_path, obeys_permissions=case.obeys_permissions)
    assert done.returncode != 0
    line = the_line(done)
    assert "Traceback" not in line
    for fragment in case.says:
        assert fragment in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a failed start left files"


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "env"),
    [(("serve",), SERVE_ENV), (("fake-rokt",), {}), (("fake-sfmc",), {})],
    ids=["serve", "fake-rokt", "fake-sfmc"],
)
def test_a_port_in_use_is_one_line_and_no_database(
    argv: tuple[str, ...], env: dict[str, str], held_port: int, tmp_path: Path
) -> None:
    done = run((*argv, "--port", str(held_port)), env, tmp_path)
    assert done.returncode != 0
    line = the_line(done)
    assert f"127.0.0.1:{held_port}" in line and "in use" in line
    assert list(tmp_path.iterdir()) == []  # refused before the database was opened


def test_settings_list_with_no_environment_creates_nothing(tmp_path: Path) -> None:
    done = run(("settings", "list"), {}, tmp_path)
    assert done.returncode != 0
    assert "activity.db" in the_line(done)
    assert list(tmp_path.iterdir()) == []


def test_settings_list_reads_an_existing_database_without_writing_a_key(tmp_path: Path) -> None:
    env = {"ROKT_CLIENT_SECRET": "s"}
    setting = ("settings", "set", "--mid", "7", "--account-code", "a", "--client-id", "c")
    assert run(setting, env, tmp_path).returncode == 0
    (tmp_path / "activity.db.key").unlink()
    done = run(("settings", "list"), {}, tmp_path)
    assert done.returncode != 0
    assert "no key file" in the_line(done)
    assert not (tmp_path / "activity.db.key").exists()


# --- help -------------------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_has_a_sentence_and_shows_its_default() -> None:
    for parser in _parsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            assert action.help, (parser.prog, action.dest)
            shown_default = action.default not in (None, False) and not action.required
            if shown_default:
                assert f"(default:{action.default})" in "".join(text.split()), (
                    parser.prog,
                    action.dest,
                )


def test_serve_help_names_the_environment_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "activity", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    for variable in ("ACTIVITY_PUBLIC_URL", "ACTIVITY_JWT_SECRET", "ACTIVITY_DATABASE_URL"):
        assert variable in done.stdout
    assert "required" in done.stdout
    assert "(default: 8080)" in done.stdout
