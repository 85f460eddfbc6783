"""`make dev` as a newcomer uses it: start it, follow the printed sign-in link through the fake
Marketing Cloud to the settings page, post the ready-made execute, and see the event reach
the fake Rokt and the Deliveries page; Ctrl-C stops every process."""

from __future__ import annotations

import asyncio
import html
import json
import re
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import aiohttp
import pytest

from activity.devtools.bench.procs import free_port
from activity.devtools.dev import DEV_MID, DEV_SECRET, login_claims, service_env

pytestmark = pytest.mark.slow


def _as_from_a_terminal() -> None:
    # A newcomer's shell starts make dev with SIGINT at its default; the test runner's process
    # may have it ignored (an ignored signal is inherited), which would leave Ctrl-C unheard.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def read_banner(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while "Metrics:" not in "".join(lines):
        assert time.monotonic() < deadline, lines
        raw = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert raw, f"dev exited: {lines}"
        lines.append(raw.decode())
    return "".join(lines)


async def sso_sign_in(http: aiohttp.ClientSession, login_url: str) -> aiohttp.ClientResponse:
    """Follow /sso/login through the fake Marketing Cloud's page, choosing the dev unit."""
    resp = await http.get(login_url, allow_redirects=False)
    assert resp.status == 302
    authorize = resp.headers["Location"]
    page = await (await http.get(authorize)).text()
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page)[1])  # type: ignore[index]
    fields = {
        k: html.unescape(v)
        for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    }
    fields.update(mid=DEV_MID, decision="allow")
    return await http.post(urljoin(authorize, action), data=fields)


async def test_make_dev_takes_a_newcomer_to_settings_and_a_delivered_event(
    tmp_path: Path,
) -> None:
    ports = [free_port() for _ in range(3)]
    args = ["--port", str(ports[0]), "--rokt-port", str(ports[1]), "--sfmc-port", str(ports[2])]
    env = {k: v for k, v in service_env(tmp_path, {"service": 0, "rokt": 0, "sfmc": 0}).items()}
    for name in ("ROKT_API_URL", "ACTIVITY_PUBLIC_URL", "SFMC_AUTH_URL", "ACTIVITY_DATABASE_URL"):
        env.pop(name)  # as a newcomer's shell: none of these set
    env = {k: v for k, v in env.items() if not k.startswith(("ACTIVITY_", "SFMC_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activity.devtools.dev", *args,
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=_as_from_a_terminal,
    )  # fmt: skip
    try:
        banner = await read_banner(proc)
        service = f"http://localhost:{ports[0]}"
        rokt = f"http://127.0.0.1:{ports[1]}"
        assert f"{service}/sso/login" in banner and DEV_SECRET in banner
        assert f"{rokt}/__fake/requests" in banner
        assert (tmp_path / "dev" / "activity.db").exists()
        assert not (tmp_path / "activity.db").exists()

        # A browser keeps Secure cookies for http://localhost; aiohttp needs telling.
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=service)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            settings = await sso_sign_in(http, f"{service}/sso/login")
            page = await settings.text()
            assert settings.status == 200 and str(settings.url).endswith("/settings"), page[:500]
            assert DEV_MID in page and "demo" in page  # the stored dev Rokt settings

        # The legacy form file signs in too, once.
        form = (tmp_path / "dev" / "login.html").read_text()
        token = re.search(r'name="jwt" value="([^"]+)"', form)[1]  # type: ignore[index]
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=service)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            resp = await http.post(f"{service}/login", data={"jwt": token})
            assert resp.status == 200 and str(resp.url).endswith("/settings")
            again = await http.post(f"{service}/login", data={"jwt": token})
            assert again.status == 401

            body = (tmp_path / "dev" / "execute.jwt").read_bytes()
            async with http.post(f"{service}/execute", data=body) as resp:
                assert (await resp.json())["roktStatus"] == "queued"
            deadline = time.monotonic() + 30
            while True:
                async with http.get(f"{rokt}/__fake/requests") as resp:
                    seen = (await resp.json())["requests"]
                if any(r["endpoint"] == "create" and r["status"] == 202 for r in seen):
                    break
                assert time.monotonic() < deadline, seen
                await asyncio.sleep(0.1)
            deliveries = await (await http.get(f"{service}/settings/deliveries")).text()
            assert re.search(r'data-state="sent">1<', deliveries)
    finally:
        proc.send_signal(signal.SIGINT)
        # make dev gives each of its three children up to 10 s to stop before killing it.
        _, err = await asyncio.wait_for(proc.communicate(), 45)
    assert proc.returncode == 0
    for line in err.decode().splitlines():  # the children's logs: JSON lines
        if line.strip():
            json.loads(line)
    async with aiohttp.ClientSession() as http:
        for port in ports:
            with pytest.raises(aiohttp.ClientConnectionError):
                await http.get(f"http://127.0.0.1:{port}/")


async def test_make_dev_refuses_a_taken_port_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "activity.devtools.dev", "--port", str(taken),
            "--rokt-port", str(free_port()), "--sfmc-port", str(free_port()),
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and out == b""
    assert err.decode().count("\n") == 1 and f"127.0.0.1:{taken}" in err.decode()
    assert not (tmp_path / "dev").exists()


def test_the_login_claims_are_what_the_readme_names() -> None:
    claims = login_claims()
    request = claims["request"]
    assert request["claimsVersion"] == 2
    assert request["organization"]["id"] == DEV_MID
    assert request["user"]["email"] == "dev@example.com"
    assert claims["exp"] > time.time() and claims["jti"]


def test_make_serve_is_the_development_loop_not_the_real_rokt() -> None:
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    serve = re.search(r"^serve:(.*?)(?=^\S|\Z)", makefile, re.S | re.M)
    assert serve is not None and serve[1].split() == ["dev"]
    dev = re.search(r"^dev:(.*?)(?=^\S|\Z)", makefile, re.S | re.M)
    assert dev is not None and "activity.devtools.dev" in dev[1]


def test_the_readme_names_the_development_secret_and_the_tokens_claims() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    first_screens = readme[: readme.index("## The demo")]
    assert "make dev" in first_screens and DEV_SECRET in first_screens
    for claim in ("jti", "exp", "claimsVersion: 2", "request.organization", DEV_MID):
        assert claim in first_screens, claim
    assert "ROKT_API_URL=https://api.roktcalendar.com" in first_screens  # the real Rokt
    assert "/sso/login" in first_screens and "execute.jwt" in first_screens
