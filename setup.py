"""Build hook: an installed wheel serves the UI without the checkout beside it.

The config UI (static/), the config.json template and the parts of the npm packages that the
pages load (Postmonger, and the SLDS stylesheet, images and utility icons) live outside the
package in the checkout. Building a wheel copies them into the package as activity/static/,
activity/static/vendor/ and activity/config.json, where the service looks first. The vendored
files are copied from node_modules/ at build time (run `npm ci` first), never committed.
Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SLDS = Path("node_modules/@salesforce-ux/design-system/assets")
# (source in the checkout, destination inside the package); a folder is copied whole.
BUNDLED = (
    (Path("static"), Path("static")),
    (Path("config.json"), Path("config.json")),
    (Path("node_modules/postmonger/postmonger.js"), Path("static/vendor/postmonger/postmonger.js")),
    (Path("node_modules/postmonger/LICENSE"), Path("static/vendor/postmonger/LICENSE")),
    (
        SLDS / "styles/salesforce-lightning-design-system.min.css",
        Path("static/vendor/slds/styles/salesforce-lightning-design-system.min.css"),
    ),
    (SLDS / "images", Path("static/vendor/slds/images")),
    (SLDS / "icons/utility-sprite", Path("static/vendor/slds/icons/utility-sprite")),
)


class BuildWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves them from the checkout
        package = Path(self.build_lib) / "activity"
        for source, target in BUNDLED:
            found = HERE / source
            if not found.exists():
                raise SystemExit(f"building the wheel needs {source}; run `npm ci` first")
            destination = package / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            if found.is_dir():
                shutil.copytree(found, destination, dirs_exist_ok=True)
            else:
                shutil.copy2(found, destination)


setup(cmdclass={"build_py": BuildWithAssets})
