"""Exceptions shared by the command modules."""


class UserError(Exception):
    """A problem the user can fix (a bad path, a bad option): printed without a traceback."""
