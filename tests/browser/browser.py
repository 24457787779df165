"""A real browser for the console's tests: Debian's chromium (`apt-get install chromium`) driven by
Playwright for Python. What each test checks besides its own steps: no console error or failed request
on the console's pages, and no accessibility violation axe-core rates serious or critical."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
AXE = Path(__file__).parent / "assets" / "axe.min.js"
SERIOUS = ("serious", "critical")


@dataclass
class Watch:
    """What went wrong on the console's own pages while a test ran (the provider's login page is not ours)."""

    origin: str
    errors: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)  # statuses a test expects (e.g. 403: a screen not for the role)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _ours(self, url: str) -> bool:
        return url.startswith(self.origin)

    def _console(self, message: ConsoleMessage) -> None:
        expected = any(f"status of {s}" in message.text for s in self.allowed)
        if message.type == "error" and self._ours(message.page.url if message.page else "") and not expected:
            self.errors.append(f"console error on {message.page.url if message.page else '?'}: {message.text}")

    def _failed(self, request: Request) -> None:
        if self._ours(request.url):
            self.errors.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if self._ours(response.url) and response.status >= 400 and response.status not in self.allowed:
            self.errors.append(f"{response.status} for {response.request.method} {response.url}")


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of the page as it is now (WCAG 2.1 A and AA and best practice)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in SERIOUS
    ]


def new_page(browser: Browser, origin: str, width: int = 1280, height: int = 900) -> tuple[Page, Watch]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    watch = Watch(origin)
    watch.attach(page)
    return page, watch


def sign_in(page: Page, console_url: str, username: str, password: str) -> None:
    """Through the provider's real login page, as a person does."""
    page.goto(f"{console_url}/login")
    page.wait_for_selector("#kc-form-login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_url(f"{console_url}/**")


def describe(errors: list[str]) -> str:
    return json.dumps(errors, indent=2)


class Person:
    """Someone at the office working in the console through a real browser: each step is screenshot and
    checked (no console error, no failed request, no serious or critical accessibility violation)."""

    def __init__(self, browser: Browser, console_url: str, username: str, password: str, shots: Path,
                 width: int = 1280, height: int = 900) -> None:  # fmt: skip
        self.url, self.username, self.shots, self.step = console_url, username, shots, 0
        self.page, self.watch = new_page(browser, console_url, width, height)
        self.page.on("dialog", lambda dialog: dialog.accept())  # "Resolve this work item?" and the like: yes
        sign_in(self.page, console_url, username, password)
        self.check("signed-in")

    def visit(self, path: str, name: str | None = None) -> Page:
        self.page.goto(self.url + path)
        self.check(name or path.strip("/").replace("/", "-") or "home")
        return self.page

    def check(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{self.username}-{name}.png"), full_page=True)
        violations = axe_violations(self.page)
        problems = self.watch.errors + violations
        self.watch.errors = []
        assert not problems, f"{self.username} on {self.page.url}: {describe(problems)}"

    def notice(self) -> str:
        """The page's notices (success or error), as a person reads them."""
        return " ".join(self.page.locator(".notice").all_inner_texts())

    def close(self) -> None:
        self.page.context.close()
