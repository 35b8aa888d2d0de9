"""Command-line helpers shared by the `amsim` and `uddm` commands."""
from __future__ import annotations

import functools
from typing import Callable

import click


class UserError(click.ClickException):
    """A bad value from the user: printed as one line, exit code 2."""

    exit_code = 2


def one_line_errors(func: Callable) -> Callable:
    """Turn expected failures inside a click command into one line and exit 2.

    ValueError, FileNotFoundError, KeyError and OSError raised by the library
    carry a message that names the bad value; the user sees `Error: <message>`
    and no traceback.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except (ValueError, OSError, KeyError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(msg) from None

    return wrapper
