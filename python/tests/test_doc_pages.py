"""The documentation's pages (README.md and docs/*.md) hold together, cheaply, without a cluster:

- every relative link points at a file of the repository, and an anchor at a heading of it;
- every `sqlrec ...` command shown, in a code block or inline, is one the real command line
  takes: a complete command parses with its argparse parser, one with placeholders
  (``[--option]``, ``a|b``, ``FILE``, ``...``) names only sub-commands, options and choices
  that exist;
- every call of the local service (`curl localhost:8000/...`) names a route of the app and
  query parameters it takes;
- every `make` target shown is in the Makefile, and what ``ARGS`` passes on is taken there
  (`make demo`'s by `sqlrec demo`, `make test`'s ``-m`` markers are registered);
- the README stays a five-minute read, and nothing cites a file outside the repository.

The dbt commands of docs/dbt.md are run for real in test_readme.py; the README's dbt example is
lines of that block.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from sqlrec.cli import build_parser

from doc_pages import anchors, fenced_blocks, inline_code, page_name, pages, prose, shell_block
from helpers import PROJECT_DIR

PAGES = pages()
README_MAX_LINES = 200
SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}
REDIRECTIONS = re.compile(r"^\d*(>>?|<)&?\d*$")


# ---------------------------------------------------------------- links

def links(text: str) -> list[str]:
    """The targets of a page's markdown links and images, outside code."""
    without_code = re.sub(r"`[^`]*`", "", prose(text))
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", without_code)


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page):
    broken = []
    for target in links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_relative_to(PROJECT_DIR):
            broken.append(f"{target}: outside the repository")
        elif not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {page_name(file)}")
    assert not broken, f"{page_name(page)}:\n" + "\n".join(broken)


def test_every_page_is_linked_from_the_readme():
    linked = {(PROJECT_DIR / target.partition("#")[0]).resolve()
              for target in links((PROJECT_DIR / "README.md").read_text())}
    assert not [page_name(page) for page in PAGES[1:] if page not in linked]


# ---------------------------------------------------------------- sqlrec commands

def shell_commands(block: str, *, cron: bool = False) -> list[list[str]]:
    """The simple commands of a shell (or crontab) block, as tokens: continuation lines
    joined, comments dropped, split at ``&&``, ``|``, ``;``, ``&``, and cut at a redirection."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        if cron:
            tokens = tokens[5:]  # the five time fields
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token in SHELL_OPERATORS:
                commands.append(current)
                current = []
            else:
                current.append(token)
    return [_cut_at_redirection(command) for command in commands if command]


def _cut_at_redirection(tokens: list[str]) -> list[str]:
    for position, token in enumerate(tokens):
        if REDIRECTIONS.match(token):
            return tokens[:position]
    return tokens


def sqlrec_arguments(tokens: list[str]) -> list[str] | None:
    """The arguments of a command that calls `sqlrec` (``X=1 sqlrec ...``, ``.venv/bin/sqlrec
    ...``, ``docker run ... IMAGE sqlrec ...``), or None when it calls something else."""
    words = list(tokens)
    while words and re.match(r"^\w+=", words[0]):  # the environment of the command
        words.pop(0)
    if words[:2] == ["docker", "run"] and "sqlrec" in words:
        return words[words.index("sqlrec") + 1:]
    if words and (words[0] == "sqlrec" or words[0].endswith("/bin/sqlrec")):
        return words[1:]
    return None


def shown_commands() -> list[tuple[str, str, list[str]]]:
    """(page, where, arguments) of every `sqlrec` command the pages show: "block" for a line
    of a sh or cron block, "inline" for an inline code span."""
    shown = []
    for page in PAGES:
        text = page.read_text()
        for language in ("sh", "cron"):
            for block in fenced_blocks(text, language):
                for tokens in shell_commands(block, cron=language == "cron"):
                    if (arguments := sqlrec_arguments(tokens)) is not None:
                        shown.append((page_name(page), "block", arguments))
        for span in inline_code(text):
            if span.startswith("sqlrec ") and (arguments := span.split()[1:]):
                shown.append((page_name(page), "inline", arguments))
    return shown


def is_placeholder(argument: str) -> bool:
    return bool(re.search(r"[\[\]|<>]|\.\.\.|\$\{", argument)) or argument.isupper()


def subparsers_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def check_names(arguments: list[str]) -> list[str]:
    """What a command with placeholders names that the parser lacks: each sub-command (or each
    alternative of ``a|b``), each ``--option``, each choice of an option with choices."""
    problems = []
    parser, position = build_parser(), 0
    while (commands := subparsers_of(parser)) and position < len(arguments):
        if arguments[position].startswith("-"):  # `sqlrec --help`
            break
        if arguments[position].isupper():  # `sqlrec COMMAND --help`: any command
            return []
        names = arguments[position].strip("[]").split("|")
        if unknown := [name for name in names if name not in commands]:
            return [f"no sub-command {unknown} (there are {sorted(commands)})"]
        parser, position = commands[names[0]], position + 1
    options = parser._option_string_actions
    rest = arguments[position:]
    for argument, following in zip(rest, [*rest[1:], ""][:len(rest)], strict=True):
        flag = argument.strip("[]").split("=")[0]
        if not flag.startswith("--") or "<" in flag:  # a value, or the placeholder --<param>
            continue
        if flag not in options:
            problems.append(f"no option {flag}")
        elif (choices := options[flag].choices) and "|" in following:
            problems += [f"{flag}: no choice {choice!r}"
                         for choice in following.strip("[]").split("|") if choice not in choices]
    return problems


def parse_problem(arguments: list[str]) -> str | None:
    """What argparse says of a complete command, or None when it parses."""
    error = io.StringIO()
    try:
        with contextlib.redirect_stderr(error):
            build_parser().parse_args(arguments)
    except SystemExit:
        return error.getvalue().strip().splitlines()[-1]
    return None


SHOWN = shown_commands()


def test_the_pages_show_sqlrec_commands_in_blocks_and_inline():
    where = {(page, kind) for page, kind, _ in SHOWN}
    assert {("README.md", "block"), ("docs/kubeflow.md", "block"),
            ("docs/training.md", "inline")} <= where
    assert len(SHOWN) >= 40


@pytest.mark.parametrize(("page", "where", "arguments"), SHOWN,
                         ids=[f"{page}:{' '.join(arguments[:2])}" for page, _, arguments in SHOWN])
def test_every_sqlrec_command_shown_is_one_the_command_line_takes(page, where, arguments):
    complete = not any(is_placeholder(argument) for argument in arguments)
    if complete and where == "block":
        problem = parse_problem(arguments)
        assert problem is None, f"{page}: `sqlrec {' '.join(arguments)}`: {problem}"
    # an inline span may name a command in passing (`sqlrec tune`'s format): names only
    problems = check_names(arguments)
    assert not problems, f"{page}: `sqlrec {' '.join(arguments)}`: {problems}"


def test_a_wrong_command_is_caught():
    assert parse_problem(["build", "--lakes", "x"])
    assert check_names(["train", "[--model", "als|gbdt]"]) == ["--model: no choice 'gbdt'"]
    assert check_names(["trino", "install|boot"])
    assert check_names(["katib", "trial", "--<param>", "${trialParameters.<param>}"]) == []
    assert shell_commands("a && sqlrec serve & curl x >> log 2>&1 # sqlrec nope\n") == [
        ["a"], ["sqlrec", "serve"], ["curl", "x"]]


# ---------------------------------------------------------------- HTTP calls

def shown_lookups() -> list[tuple[str, str]]:
    """(page, URL) of every `curl` of the local service in a sh block."""
    shown = []
    for page in PAGES:
        for block in fenced_blocks(page.read_text(), "sh"):
            for tokens in shell_commands(block):
                if tokens[:1] == ["curl"]:
                    shown += [(page_name(page), token) for token in tokens[1:]
                              if re.match(r"^(https?://)?(localhost|127\.0\.0\.1):8000/", token)]
    return shown


def test_every_service_call_shown_names_a_route_and_its_query_parameters():
    from sqlrec.service.app import create_app

    paths = create_app().openapi()["paths"]
    shown = shown_lookups()
    assert {"README.md", "docs/service.md"} <= {page for page, _ in shown}
    for page, url in shown:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        route = next((template for template in paths
                      if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), parts.path)), None)
        assert route, f"{page}: {url}: no route {parts.path}"
        taken = {parameter["name"] for parameter in paths[route]["get"].get("parameters", [])
                 if parameter["in"] == "query"}
        asked = {name for name, _ in parse_qsl(parts.query)}
        assert asked <= taken, f"{page}: {url}: {route} takes no {asked - taken}"


# ---------------------------------------------------------------- make targets

def makefile_targets() -> dict[str, list[str]]:
    """Each target of the Makefile with its recipe lines."""
    targets: dict[str, list[str]] = {}
    recipe: list[str] = []
    for line in (PROJECT_DIR / "Makefile").read_text().splitlines():
        if line.startswith("\t"):
            recipe.append(line.strip())
        elif match := re.match(r"^([\w.$()/-]+)\s*:(?!=)", line):
            recipe = targets.setdefault(match.group(1), [])
    return targets


def shown_make_calls() -> list[tuple[str, list[str]]]:
    """(page, the words after `make`) of every make call in a block or inline span."""
    shown = []
    for page in PAGES:
        text = page.read_text()
        spans = [span for span in inline_code(text) if span.startswith("make ")]
        for snippet in [*fenced_blocks(text, "sh"), *spans]:
            for tokens in shell_commands(snippet):
                if "make" in tokens:
                    shown.append((page_name(page), tokens[tokens.index("make") + 1:]))
    return shown


def test_every_make_target_shown_exists_and_takes_its_args():
    targets, markers = makefile_targets(), registered_markers()
    shown = shown_make_calls()
    assert {"demo", "test"} <= {word for _, words in shown for word in words}
    for page, words in shown:
        variables = dict(word.split("=", 1) for word in words if "=" in word)
        for target in [word for word in words if "=" not in word]:
            assert target in targets, f"{page}: `make {target}`: no such target in the Makefile"
            if "ARGS" not in variables:
                continue
            recipe = next(line for line in targets[target] if "$(ARGS)" in line)
            arguments = shlex.split(recipe.replace("$(ARGS)", variables["ARGS"]))
            if (sqlrec := sqlrec_arguments(arguments)) is not None:
                assert parse_problem(sqlrec) is None, f"{page}: `make {target}` {variables}"
            if "-m" in arguments[3:]:  # pytest's -m, not python's
                expression = arguments[arguments.index("-m", 3) + 1]
                names = set(re.findall(r"\w+", expression)) - {"and", "or", "not"}
                assert names <= markers, f"{page}: `make {target}`: unregistered {names}"


def registered_markers() -> set[str]:
    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    return {marker.split(":")[0] for marker in config["tool"]["pytest"]["ini_options"]["markers"]}


# ---------------------------------------------------------------- the README's dbt example

def test_the_readme_dbt_example_is_lines_of_the_block_test_readme_runs():
    example = shell_block("README.md", "One example of each surface").splitlines()
    tested = shell_block("docs/dbt.md", "Running dbt yourself").splitlines()
    assert any(line.startswith("dbt ") for line in example)
    assert [line for line in example if line not in tested] == []


# ---------------------------------------------------------------- size and citations

def test_the_readme_is_a_five_minute_read():
    lines = (PROJECT_DIR / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES


# files that exist only outside the repository; the names are split so that this file does
# not cite them itself
OUTSIDE = ("../" + "shared", "DESIGN" + ".md", "STYLE" + ".md")
NOT_SOURCES = {".git", ".venv", "data", "target", "logs", "reports", "local_outputs",
               "dbt_packages", "__pycache__", ".pytest_cache", ".ruff_cache"}
TEXT_SUFFIXES = {".md", ".py", ".sql", ".yml", ".yaml", ".toml", ".txt", ".json", ".csv",
                 ".cfg", ".sh", ".ini", ".Dockerfile"}
TEXT_NAMES = {"Makefile", "Dockerfile", "run", ".dockerignore", ".gitignore"}


def repository_text_files() -> list[Path]:
    """The repository's text files, not walking into the virtual environment or build outputs."""
    files = []
    for folder, subfolders, names in os.walk(PROJECT_DIR):
        subfolders[:] = [name for name in subfolders
                         if name not in NOT_SOURCES and not name.endswith(".egg-info")]
        files += [Path(folder, name) for name in names
                  if Path(name).suffix in TEXT_SUFFIXES or name in TEXT_NAMES]
    return files


def test_nothing_cites_a_file_outside_the_repository():
    citing = [f"{path.relative_to(PROJECT_DIR)}: {name}"
              for path in repository_text_files()
              for name in OUTSIDE if name in path.read_text(errors="replace")]
    assert not citing
