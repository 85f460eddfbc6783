"""The image's contents without a Docker engine: build the wheel from exactly what the
Dockerfile copies (and .dockerignore lets through), check its file list, then serve the UI
from the unpacked wheel alone, with the checkout out of reach."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from activity.devtools.bench.procs import free_port
from activity.devtools.jb import TEST_SECRET
from tests.service_process import wait_ready

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def docker_context() -> list[str]:
    """The sources the Dockerfile's wheel stage copies from the build context."""
    copied = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied += line.split()[1:-1]
    return copied


def ignored(relative: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(relative, p.lstrip("/")) or relative.startswith(p.rstrip("/") + "/")
        for p in patterns
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel as the Dockerfile does: its COPY sources (minus .dockerignore), and
    node_modules as the npm stage leaves it."""
    context = tmp_path_factory.mktemp("context")
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in docker_context():
        found = ROOT / source
        if found.is_dir():
            for path in found.rglob("*"):
                relative = path.relative_to(ROOT).as_posix()
                if (
                    path.is_file()
                    and not ignored(relative, patterns)
                    and "__pycache__" not in relative
                ):
                    (context / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, context / relative)
        else:
            shutil.copy2(found, context / source)
    (context / "node_modules").symlink_to(ROOT / "node_modules")
    out = tmp_path_factory.mktemp("wheels")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(context)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("rokt_activity-*.whl")
    return built


def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def referenced_vendor_files() -> set[str]:
    """Every /static/vendor/... file the pages and templates load."""
    found = set()
    for page in [*(ROOT / "static").rglob("*.html"), *(ROOT / "activity/templates").glob("*.html")]:
        for path in re.findall(r"static/(vendor/[\w@./-]+?)(?:\?|\"|')", page.read_text()):
            found.add(f"activity/static/{path}")
    return found


def test_the_wheel_carries_the_ui_the_manifest_and_the_vendored_assets(wheel: Path) -> None:
    inside = names(wheel)
    for path in (ROOT / "static").rglob("*"):
        if path.is_file():
            assert f"activity/{path.relative_to(ROOT).as_posix()}" in inside, path
    assert "activity/config.json" in inside
    vendor = referenced_vendor_files()
    assert "activity/static/vendor/postmonger/postmonger.js" in vendor
    assert any("salesforce-lightning-design-system" in v for v in vendor)
    assert vendor <= inside, vendor - inside
    for backend in ("sqlite", "postgres"):
        for sql in (ROOT / "activity/schema" / backend).glob("*.sql"):
            assert f"activity/schema/{backend}/{sql.name}" in inside
    for template in (ROOT / "activity/templates").glob("*.html"):
        assert f"activity/templates/{template.name}" in inside
    assert any(n.endswith("entry_points.txt") for n in inside)


def test_the_wheel_carries_nothing_else(wheel: Path) -> None:
    inside = names(wheel)
    assert not [n for n in inside if n.startswith(("tests/", "node_modules/", "dev/", "static/"))]
    assert not [n for n in inside if "__pycache__" in n or n.endswith((".pyc", ".db", ".key"))]
    assert sum(1 for n in inside if "/vendor/slds/icons/" in n) <= 4  # the utility sprite only
    assert wheel.stat().st_size < 5_000_000


def test_the_ignore_file_keeps_local_state_out_of_the_build_context() -> None:
    patterns = (ROOT / ".dockerignore").read_text().split()
    for local in (".venv", "node_modules", ".git", "dev", "*.db", "*.db.key", "tests"):
        assert local in patterns


@pytest.fixture
def unpacked(wheel: Path, tmp_path: Path) -> Iterator[Path]:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    yield site


async def test_the_unpacked_wheel_serves_the_ui_without_the_checkout(
    unpacked: Path, tmp_path: Path
) -> None:
    port = free_port()
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); import activity; "
        "assert activity.__file__.startswith(sys.argv[1]), activity.__file__; "
        "from activity.cli import main; sys.exit(main(['serve', '--port', sys.argv[2]]))"
    )
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITY_", "ROKT_", "SFMC_"))
        },
        "ACTIVITY_PUBLIC_URL": "https://ca.example.com",
        "ACTIVITY_JWT_SECRET": TEST_SECRET,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
    }
    env.pop("PYTHONPATH", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", program, str(unpacked), str(port),
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/") as resp:
                page = await resp.text()
                assert resp.status == 200 and "postmonger" in page
            async with http.get(f"{url}/config.json") as resp:
                assert (await resp.json())["arguments"]["execute"]["url"].startswith(
                    "https://ca.example.com/"
                )
            for vendor in sorted(referenced_vendor_files()):
                path = vendor.removeprefix("activity/")
                async with http.get(f"{url}/{path}") as resp:
                    assert resp.status == 200, path
                    assert len(await resp.read()) > 100
            async with http.get(f"{url}/settings") as resp:
                assert resp.status == 401  # the templates render from the wheel too
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert b"is missing" not in err, err.decode()[-2000:]
