"""Headless Chromium for the report tests: installed when missing, run with no network.

Every run goes through a proxy at 127.0.0.1:9 (discard: nothing listens) and a host
resolver that maps every name to NOTFOUND, so no request can leave the machine; the
run's net log is kept so a test can assert that the *page* asked for nothing remote
(Chromium's own background requests, initiator "not an origin", are not the page's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser")
BROWSER_INITIATOR = "not an origin"
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
)


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> str:
    """Debian's `chromium`, installed with apt-get when missing (CI runs as root)."""
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("chromium is not installed and the tests are not root: "
                    "run `apt-get install -y chromium` first")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)
    found = find_chromium()
    if not found:
        pytest.fail("apt-get install chromium did not provide a chromium binary")
    return found


@dataclass
class PageRun:
    dom: str
    remote_requests: list[str]  # http(s) URLs the page itself asked for


def page_requests(net_log: Path) -> list[str]:
    """http(s) URL requests in a Chromium net log that the page (not the browser) started."""
    data = json.loads(net_log.read_text(encoding="utf-8", errors="replace") or "{}")
    types = {v: k for k, v in data.get("constants", {}).get("logEventTypes", {}).items()}
    urls = []
    for event in data.get("events", []):
        params = event.get("params") or {}
        url = params.get("url", "")
        if types.get(event.get("type")) != "URL_REQUEST_START_JOB":
            continue
        if url.startswith(("http://", "https://")) and \
                params.get("initiator") != BROWSER_INITIATOR:
            urls.append(url)
    return urls


def run_page(chromium: str, page: Path, work: Path, *, screenshot: Path | None = None,
             window: str = "1280,2000") -> PageRun:
    """One offline Chromium run over a local page: its DOM, and what it requested."""
    work.mkdir(parents=True, exist_ok=True)
    net_log = work / f"{page.stem}.netlog.json"
    cmd = [chromium, *OFFLINE_FLAGS, f"--user-data-dir={work / 'profile'}",
           f"--log-net-log={net_log}", f"--window-size={window}"]
    cmd += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    cmd.append(page.resolve().as_uri())
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return PageRun(dom=proc.stdout, remote_requests=page_requests(net_log))


# --- a small DOM --------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    content: list[str | Node] = field(default_factory=list)  # text and children, in order

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def iter(self) -> list[Node]:
        out = [self]
        for child in self.children:
            out += child.iter()
        return out

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        def match(n: Node) -> bool:
            if tag and n.tag != tag:
                return False
            for key, value in attrs.items():
                key = key.rstrip("_").replace("_", "-")
                if key == "class":
                    if value not in n.attrs.get("class", "").split():
                        return False
                elif n.attrs.get(key) != value:
                    return False
            return True
        return [n for n in self.iter() if match(n)]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].content.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].content.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
