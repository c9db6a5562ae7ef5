"""What every step of a browser journey checks and keeps: a numbered screenshot, an axe-core
accessibility check (no serious or critical WCAG 2 A/AA violation), and, on the phone, that the
page does not scroll sideways.

Screenshots go to `.ci/artifacts/screenshots/<journey>/<language>-<viewport>/NN-<step>.png` at the
repository's root: `.ci/artifacts/` is the directory CI keeps as the run's artifacts (and git
ignores), so a reviewer sees each page as the test saw it, in both languages and on both screens.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

ARTIFACTS = Path(settings.BASE_DIR) / ".ci" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# axe-core, vendored from npm (axe-core 4.14.1, MPL-2.0: tests/browser/vendor/axe-core.LICENSE, its
# notice at the top of the file) so that CI needs neither npm nor the network.
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa"]
FAILING_IMPACTS = {"serious", "critical"}

# The Noto Sans CJK subset the contract PDFs ship (apps/contracts/rendering/fonts/README.md). CI
# installs no CJK system font, so without it every Chinese character of a screenshot is a box.
CJK_FONTS = Path(settings.BASE_DIR) / "apps" / "contracts" / "rendering" / "fonts"
FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
}

_AXE_RUN = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map((rule) => ({
    id: rule.id, impact: rule.impact, help: rule.help,
    targets: rule.nodes.map((node) => node.target.join(" ")),
  }));
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A and AA violations on the page as it is now.

    The script is evaluated through the DevTools protocol, not added as a <script> element:
    page.add_script_tag inserts an inline script, which the site's Content-Security-Policy
    (script-src 'self', tests/browser/test_content_security_policy.py) refuses, as it should.
    Evaluation is the browser's own, outside the policy, so the page keeps its real policy (a
    bypass_csp context would hide a page that needs inline script)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(_AXE_RUN, AXE_TAGS)


def assert_accessible(page: Any, where: str) -> None:
    serious = [rule for rule in axe_violations(page) if rule["impact"] in FAILING_IMPACTS]
    if serious:
        lines = [f"{where} ({page.url}): {len(serious)} serious accessibility violation(s)"]
        for rule in serious:
            lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']}")
            lines.extend(f"    {target}" for target in rule["targets"][:8])
            if len(rule["targets"]) > 8:
                lines.append(f"    … and {len(rule['targets']) - 8} more")
        raise AssertionError("\n".join(lines))


def assert_no_sideways_scroll(page: Any, where: str) -> None:
    """Nothing wider than the screen. Measured against the screen's width, not innerWidth alone: a
    phone (is_mobile) widens its layout viewport to fit content that overflows, so innerWidth
    grows with the page (917 for a 900-px element on a 375-px phone) and would always pass."""
    screen = page.viewport_size["width"]
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner <= screen, f"{where} ({page.url}) is {width}px wide on a {screen}px screen"


def launch_with_cjk_font(browser: Any, directory: Path) -> Any:
    """Another Chromium like conftest's `browser`, whose fontconfig also reads the shipped CJK
    font, so that the Chinese screenshots can be read. Only this process's environment changes:
    the pages name no CJK font (a reader's phone uses its own), and the PDFs load theirs
    explicitly, as before."""
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    config = directory / "fonts.conf"
    config.write_text(
        FONTCONFIG.format(fonts=CJK_FONTS, cache=directory / "fontconfig-cache"), encoding="utf-8"
    )
    return browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        env={**os.environ, "FONTCONFIG_FILE": str(config)},
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Journey:
    """One walk through the pages in one language on one screen; `step` after each page."""

    name: str
    language: str
    viewport: str
    count: int = 0
    taken: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)  # this run's pictures only
        self.directory.mkdir(parents=True)

    @property
    def directory(self) -> Path:
        return SCREENSHOTS / self.name / f"{self.language}-{self.viewport}"

    @property
    def is_phone(self) -> bool:
        return self.viewport == "phone"

    def context(self, browser: Any, base_url: str) -> Any:
        """A fresh browser (no cookies) of this journey's screen. The browser asks for English;
        the language is then chosen with the site's own language switch (`choose_language`)."""
        context = browser.new_context(
            base_url=base_url, locale="en-US", accept_downloads=True, **VIEWPORTS[self.viewport]
        )
        context.set_default_timeout(20_000)
        return context

    def step(self, page: Any, name: str, *, accessible: bool = True) -> Path:
        """Check the page as it is now and keep its picture, numbered in the journey's order."""
        page.wait_for_load_state("load")
        self.count += 1
        where = f"step {self.count:02d} {name} [{self.language}, {self.viewport}]"
        path = self.directory / f"{self.count:02d}-{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.is_phone:
            assert_no_sideways_scroll(page, where)
        if accessible:
            assert_accessible(page, where)
        return path

    @contextmanager
    def keep_pages_on_failure(self, **pages: Any) -> Iterator[None]:
        """When the journey fails, keep a picture of each open page as it was (NN-failed-<name>.png):
        the artifact shows what the person would have seen at the step that broke."""
        try:
            yield
        except BaseException:
            for name, page in pages.items():
                with suppress(Exception):  # a closed page or context must not hide the failure
                    page.screenshot(
                        path=str(self.directory / f"{self.count + 1:02d}-failed-{_slug(name)}.png")
                    )
            raise


_FOCUSED = """() => { const element = document.activeElement;
  if (!element || element === document.body) return "nothing";
  return element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
    + (element.name ? `[name=${element.name}]` : "") + " " + (element.innerText || "").slice(0, 30); }"""


def tab_to(page: Any, selector: str, *, presses: int = 80) -> None:
    """Move the keyboard focus with Tab alone, from where it is, until it reaches `selector`: the
    element is in the tab order and reachable by someone who uses no pointer. Fails with the last
    elements the focus went through."""
    target = page.locator(selector)
    passed: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("(element) => element === document.activeElement"):
            return
        passed.append(page.evaluate(_FOCUSED))
    raise AssertionError(
        f"{selector} not reached with {presses} Tab presses on {page.url}; last: {passed[-8:]}"
    )


def choose_language(page: Any, language: str) -> None:
    """Pick the language in the header's switch, as a person would (it submits on change and
    comes back to the same page with the language cookie set)."""
    switch = page.locator("form.language-switch select[name=language]")
    if switch.input_value() == language:
        return
    with page.expect_navigation():
        switch.select_option(language)
    assert page.locator("html").get_attribute("lang") == language
