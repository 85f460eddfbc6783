"""`make dev`: the service beside the fake Rokt and the fake Marketing Cloud, ready to use.

Starts `rokt-activity fake-rokt`, `rokt-activity fake-sfmc` and `rokt-activity serve` as child
processes with a development secret and a database under ./dev, stores Rokt settings for the
fake Marketing Cloud's business unit (the fake Rokt's demo client), and prints the URLs, a
sign-in link and a ready-made execute call. Ctrl-C stops all three.

With ROKT_API_URL set in the environment the fake Rokt is not started and the service talks
to that Rokt instead (store real settings with `rokt-activity settings set` or the page).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from activity.cli_support import HelpFormatter, ensure_can_listen, port
from activity.config import ConfigError
from activity.devtools.jb import event_arguments, execute_payload, sign

# Long enough that PyJWT does not warn about a short HMAC key; never use it outside development.
DEV_SECRET = "dev-jwt-signing-secret-not-for-production"  # noqa: S105 - a published dev value
DEV_METRICS_TOKEN = "dev-metrics-token"  # noqa: S105 - a published dev value
DEV_MID = "100000001"  # the fake Marketing Cloud's first business unit
DEV_EID = "100000000"
DEV_ACCOUNT_CODE = "demo"
FAKE_ROKT_CLIENT = ("demo-client", "demo-secret")
FAKE_SFMC_CLIENT = ("demo-sfmc-client", "demo-sfmc-secret")
READY_SECONDS = 30.0


def service_env(
    folder: Path, ports: dict[str, int], base: dict[str, str] | None = None
) -> dict[str, str]:
    """The service's environment: the caller's, with development values where it sets none.

    A ROKT_API_URL of the caller's is kept: that is how to switch to the real Rokt."""
    env = dict(os.environ if base is None else base)
    defaults = {
        "ACTIVITY_PUBLIC_URL": f"http://localhost:{ports['service']}",
        "ACTIVITY_JWT_SECRET": DEV_SECRET,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{folder / 'activity.db'}",
        "ACTIVITY_METRICS_TOKEN": DEV_METRICS_TOKEN,
        "ROKT_API_URL": f"http://127.0.0.1:{ports['rokt']}",
        "SFMC_CLIENT_ID": FAKE_SFMC_CLIENT[0],
        "SFMC_CLIENT_SECRET": FAKE_SFMC_CLIENT[1],
        "SFMC_AUTH_URL": f"http://127.0.0.1:{ports['sfmc']}",
    }
    for name, value in defaults.items():
        if not env.get(name):
            env[name] = value
    return env


def uses_fake_rokt(env: dict[str, str], ports: dict[str, int]) -> bool:
    return env["ROKT_API_URL"] == f"http://127.0.0.1:{ports['rokt']}"


def login_claims(mid: str = DEV_MID, eid: str = DEV_EID, lifetime: float = 3600) -> dict[str, Any]:
    """What Marketing Cloud's legacy SSO posts to /login (claimsVersion 2), for a dev admin."""
    return {
        "jti": str(uuid.uuid4()),
        "exp": int(time.time() + lifetime),
        "request": {
            "claimsVersion": 2,
            "user": {"id": "dev-user-1", "email": "dev@example.com", "culture": "en-US"},
            "organization": {"id": mid, "enterpriseId": eid, "stackKey": "S50"},
            "application": {"id": "dev-app", "package": "rokt-calendar"},
        },
    }


def login_form(service_url: str, secret: str = DEV_SECRET) -> str:
    """A page whose button posts a signed legacy sign-in to /login (no script: one click)."""
    token = sign(login_claims(), secret).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Development sign-in</title></head>
<body>
<p>Signs in to {service_url}/settings as dev@example.com, business unit {DEV_MID}, once
(a sign-in token works one time; run make dev again for another).</p>
<form method="post" action="{service_url}/login">
<input type="hidden" name="jwt" value="{token}">
<button type="submit">Sign in (legacy Marketing Cloud SSO)</button>
</form>
</body></html>
"""


def execute_body(secret: str = DEV_SECRET) -> bytes:
    """A signed execute for one contact of the dev business unit, with a fresh subscription."""
    args = event_arguments(mid=DEV_MID, eid=DEV_EID, calendarSubscriptionId=str(uuid.uuid4()))
    return sign(execute_payload(args, contact_key="dev-contact-1"), secret)


def _child(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "activity", *argv], env=env)  # noqa: S603


def _wait_http(url: str, proc: subprocess.Popen[bytes], within: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"dev: {proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own local URL
                return
        except urllib.error.HTTPError:
            return  # it answers: it is up
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"dev: nothing answered at {url} within {within:.0f} s")


@contextlib.contextmanager
def _running(procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()  # SIGTERM: children may have inherited SIGINT as ignored
        for proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def banner(env: dict[str, str], folder: Path, fake_rokt: bool) -> str:
    url = env["ACTIVITY_PUBLIC_URL"]
    rokt = env["ROKT_API_URL"]
    lines = [
        "",
        "Development service is up (Ctrl-C stops everything):",
        f"  service            {url}   (config.json: {url}/config.json)",
        f"  fake Rokt          {rokt}   (what it received: {rokt}/__fake/requests)"
        if fake_rokt
        else f"  Rokt               {rokt}   (ROKT_API_URL from your environment)",
        f"  fake Marketing Cloud {env['SFMC_AUTH_URL']}",
        f"  database           {env['ACTIVITY_DATABASE_URL']}",
        f"  JWT signing secret {env['ACTIVITY_JWT_SECRET']}   (development only)",
        "",
        "Sign in to the settings page:",
        f"  {url}/sso/login   (the fake Marketing Cloud asks which business unit; Allow)",
        f"  or open file://{(folder / 'login.html').resolve()}   (legacy SSO form, one use)",
        "",
        f"Send one contact through execute (business unit {DEV_MID}):",
        f"  curl -s -X POST --data-binary @{folder / 'execute.jwt'} {url}/execute",
        f"  then {url}/settings/deliveries shows it sent"
        + (f", and {rokt}/__fake/requests shows the call" if fake_rokt else ""),
        f"Metrics: curl -H 'Authorization: Bearer {env['ACTIVITY_METRICS_TOKEN']}' {url}/metrics",
        "",
    ]
    return "\n".join(lines)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the children are stopped on the way out, as on Ctrl-C


def run(ports: dict[str, int], folder: Path) -> int:
    env = service_env(folder, ports)
    fake_rokt = uses_fake_rokt(env, ports)
    needed = {k: v for k, v in ports.items() if fake_rokt or k != "rokt"}
    try:
        for number in needed.values():
            ensure_can_listen("127.0.0.1", number)
    except ConfigError as exc:
        print(f"dev: {exc}", file=sys.stderr)
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    # A shell that starts a job in the background hands it SIGINT ignored, and children inherit
    # that: Ctrl-C (and the SIGINT passed on to the children) must stop everything regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    procs: list[subprocess.Popen[bytes]] = []
    with _running(procs):
        if fake_rokt:
            procs.append(_child(["fake-rokt", "--port", str(ports["rokt"])], env))
            _wait_http(f"{env['ROKT_API_URL']}/__fake/requests", procs[-1])
        procs.append(_child(["fake-sfmc", "--port", str(ports["sfmc"])], env))
        _wait_http(f"{env['SFMC_AUTH_URL']}/__fake/requests", procs[-1])
        if fake_rokt:
            setting = ["settings", "set", "--mid", DEV_MID, "--enterprise-id", DEV_EID]
            setting += ["--account-code", DEV_ACCOUNT_CODE, "--client-id", FAKE_ROKT_CLIENT[0]]
            subprocess.run(  # noqa: S603
                [sys.executable, "-m", "activity", *setting],
                env={**env, "ROKT_CLIENT_SECRET": FAKE_ROKT_CLIENT[1]},
                check=True,
            )
        procs.append(_child(["serve", "--port", str(ports["service"])], env))
        _wait_http(f"{env['ACTIVITY_PUBLIC_URL']}/readyz", procs[-1])
        (folder / "login.html").write_text(login_form(env["ACTIVITY_PUBLIC_URL"]), "utf-8")
        (folder / "execute.jwt").write_bytes(execute_body(env["ACTIVITY_JWT_SECRET"]))
        print(banner(env, folder, fake_rokt), flush=True)
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
    stopped = [p for p in procs if p.returncode not in (None, 0)]
    return 1 if stopped else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m activity.devtools.dev",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--port", type=port, default=8080, help="the service's port")
    parser.add_argument("--rokt-port", type=port, default=8090, help="the fake Rokt's port")
    parser.add_argument(
        "--sfmc-port", type=port, default=8091, help="the fake Marketing Cloud's port"
    )
    parser.add_argument(
        "--dir", type=Path, default=Path("dev"), help="folder for the database and the files"
    )
    args = parser.parse_args(argv)
    ports = {"service": args.port, "rokt": args.rokt_port, "sfmc": args.sfmc_port}
    return run(ports, args.dir)


if __name__ == "__main__":
    sys.exit(main())
