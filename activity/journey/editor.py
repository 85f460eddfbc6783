"""The config UI that Journey Builder frames (GET /) and the files it loads (/static/...).

Every asset URL in the page carries `?v=<ASSET_VERSION>`, so a versioned response may be cached
for a year and JB's iframe never runs stale code. Postmonger and the Salesforce Lightning
Design System come from npm (`node_modules/`, see package.json) and are served from
/static/vendor/postmonger/ and /static/vendor/slds/ (the SLDS `assets` folder).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parent  # the checkout, when running from one
NODE_MODULES = ROOT / "node_modules"


def _first(*candidates: Path) -> Path:
    """An installed wheel carries the UI inside the package (see setup.py); a checkout keeps
    it beside the package, with the npm packages in node_modules/."""
    return next((c for c in candidates if c.exists()), candidates[-1])


STATIC = _first(PACKAGE / "static", ROOT / "static")
VENDOR = {
    "vendor/postmonger/": _first(STATIC / "vendor" / "postmonger", NODE_MODULES / "postmonger"),
    "vendor/slds/": _first(
        STATIC / "vendor" / "slds", NODE_MODULES / "@salesforce-ux" / "design-system" / "assets"
    ),
}
SERVED_SUFFIXES = frozenset({".css", ".js", ".svg", ".png", ".jpg", ".gif", ".woff", ".woff2"})
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# The editor runs only our own files; JB frames it (frame-ancestors comes from the middleware).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)

log = logging.getLogger("activity.editor")


@dataclass(frozen=True)
class EditorAssets:
    """The rendered page and the folders behind /static/, fixed when the app is built."""

    page: str
    mounts: tuple[tuple[str, Path], ...]

    @classmethod
    def load(
        cls, version: str, static: Path = STATIC, vendor: dict[str, Path] | None = None
    ) -> EditorAssets:
        page = (static / "index.html").read_text(encoding="utf-8").replace("{{version}}", version)
        folders = VENDOR if vendor is None else vendor
        for prefix, folder in folders.items():
            if not folder.is_dir():
                log.warning(
                    "%s is missing, so /static/%s will answer 404; run `npm ci`", folder, prefix
                )
        # Longest prefix first, our own static/ folder last.
        mounts = (*sorted(folders.items(), key=lambda m: -len(m[0])), ("", static))
        return cls(page=page, mounts=mounts)

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self.page,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": REVALIDATE, "Content-Security-Policy": PAGE_CSP},
        )

    async def asset(self, request: web.Request) -> web.StreamResponse:
        path = self.locate(request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound(text="no such file")
        cache = LONG_CACHE if request.query.get("v") else REVALIDATE
        return web.FileResponse(path, headers={"Cache-Control": cache})

    def locate(self, relative: str) -> Path | None:
        """The file behind /static/<relative>, or None; never anything outside the mounts."""
        if "\\" in relative or "\x00" in relative:
            return None
        for prefix, folder in self.mounts:
            if not relative.startswith(prefix):
                continue
            base = folder.resolve()
            candidate = (base / relative[len(prefix) :]).resolve()
            if (
                candidate.is_relative_to(base)
                and candidate.suffix.lower() in SERVED_SUFFIXES
                and candidate.is_file()
            ):
                return candidate
            return None
        return None
