"""Reading the documentation's pages (README.md and docs/*.md) for the tests that check them:
their fenced code blocks, their prose and its inline code, their headings and the anchors
GitHub makes of them, and the ```sh block of one section of one page."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import PROJECT_DIR

FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def pages() -> list[Path]:
    """Every page of the documentation: the README, then docs/*.md."""
    return [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def page_name(page: Path) -> str:
    return page.relative_to(PROJECT_DIR).as_posix()


def fenced_blocks(text: str, *languages: str) -> list[str]:
    """The contents of the fenced code blocks of a page, of the given languages (all when none
    is given)."""
    return [match.group(2) for match in FENCE.finditer(text)
            if not languages or match.group(1) in languages]


def prose(text: str) -> str:
    """A page without its fenced code blocks."""
    return FENCE.sub("", text)


def inline_code(text: str) -> list[str]:
    """The inline code spans of a page's prose, each on one line (a span may wrap)."""
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose(text))]


def headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of every heading outside the code blocks."""
    return [(len(match.group(1)), match.group(2).strip())
            for match in re.finditer(r"^(#{1,6})\s+(.+)$", prose(text), re.MULTILINE)]


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    title = re.sub(r"[^\w\- ]", "", title.lower().replace("`", ""))
    return title.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page's headings give (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    result = set()
    for _, title in headings(text):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def section(page: str, title: str) -> str:
    """The text of a page's section: from its heading to the next heading of the same level or
    above (a line in a code block that starts with # is no heading). ``page`` is relative to
    the project, e.g. ``docs/dbt.md``."""
    text = (PROJECT_DIR / page).read_text()
    heading = re.search(rf"^(#{{1,6}}) {re.escape(title)}[ \t]*$", text, re.MULTILINE)
    assert heading, f"no section {title!r} in {page}"
    rest = text[heading.end():]
    fences = [match.span() for match in FENCE.finditer(rest)]
    for following in re.finditer(rf"^#{{1,{len(heading.group(1))}}} ", rest, re.MULTILINE):
        if not any(start < following.start() < end for start, end in fences):
            return rest[:following.start()]
    return rest


def shell_block(page: str, title: str, index: int = 0) -> str:
    """The ``index``-th ```sh block of a section of a page (the first by default)."""
    blocks = fenced_blocks(section(page, title), "sh")
    assert len(blocks) > index, f"no sh block {index} in {page}, section {title!r}"
    return blocks[index]
