"""Placeholder; replaced below."""


def add_command(subparsers):
    pass
