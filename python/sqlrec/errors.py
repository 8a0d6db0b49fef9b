"""Exceptions shared by the command modules."""


class UserError(Exception):
    """A problem the user can fix (a bad path, a bad option): printed without a traceback."""


def did_you_mean(name: str, known: list[str]) -> str:
    """What follows "unknown ... <name>": the closest known name (a typo), else all of them."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(sorted(known))}"
