"""Errors caused by the user's input. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input: a missing or corrupt file, an unknown format, an absurd value, ..."""
