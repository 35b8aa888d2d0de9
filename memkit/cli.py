"""Command-line helpers shared by the `amsim` and `uddm` commands."""
from __future__ import annotations

import functools
import sys
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
        except MemoryError as exc:
            raise UserError(f"out of memory{': ' + str(exc) if str(exc) else ''}; "
                            "use smaller sizes") from None
        except (ValueError, OSError, KeyError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(msg) from None

    return wrapper


class _OneLineMain:
    """click's `main`, printing a usage error as one line (`Error: ...`), no usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            msg = " ".join(exc.format_message().split())
            click.echo(f"Error: {msg}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class OneLineErrorGroup(_OneLineMain, click.Group):
    """A click group whose usage errors print one line (`Error: ...`), no usage block.

    click normally prints the usage and a hint before a bad-option message; a
    scientist scanning a log wants the one line that names the bad value.
    """


class OneLineErrorCommand(_OneLineMain, click.Command):
    """A single click command (the experiments' scripts) with one-line usage errors."""


def parse_number_list(text, typ=float, name: str = "value"):
    """'0.1,0.5,2' -> [0.1, 0.5, 2.0]: a command-line list of numbers, or a BadParameter naming it."""
    import math
    try:
        vals = [typ(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{name} must be a comma-separated list of numbers, got {text!r}") from None
    if not vals:
        raise click.BadParameter(f"{name} is an empty list")
    if not all(math.isfinite(v) for v in vals):
        raise click.BadParameter(f"{name} must hold finite numbers, got {text!r}")
    return vals


def quick_settings(quick: bool, values: dict, quick_values: dict) -> dict:
    """The option values of a script run with or without --quick.

    `values` are the options as parsed; `quick_values` what --quick sets. An option
    given on the command line is honoured even with --quick (never silently
    overridden); the others take their quick value.
    """
    if not quick:
        return dict(values)
    ctx = click.get_current_context(silent=True)
    out = dict(values)
    for name, v in quick_values.items():
        given = False
        if ctx is not None:
            src = ctx.get_parameter_source(name)
            given = src is not None and src.name in ("COMMANDLINE", "ENVIRONMENT")
        if not given:
            out[name] = v
    return out


class ShardParam(click.ParamType):
    """`--shard i/n`: shard i of n (1 <= i <= n), parsed to (i, n) by `memkit.sweep.parse_shard`."""

    name = "i/n"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, tuple):
            return value
        from memkit.sweep import parse_shard
        try:
            return parse_shard(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def sweep_options(func: Callable) -> Callable:
    """The options every sweep command shares: `--shard i/n` and `--workers k`.

    The command receives `shard` ((i, n) or None) and `workers` (an int >= 1) and hands
    them to `memkit.sweep.run`. A bad value is one line naming it, exit 2.
    """
    func = click.option(
        "--workers", type=click.IntRange(min=1), default=1, show_default=True,
        help="Single-threaded worker processes on this machine (e.g. one per core); "
             "every unit runs on one thread either way, so results are those of a serial run.")(func)
    func = click.option(
        "--shard", type=ShardParam(), default=None,
        help="Compute only shard i of n (1 <= i <= n; e.g. $SLURM_ARRAY_TASK_ID/"
             "$SLURM_ARRAY_TASK_COUNT) into the shared cache; other shards' results are "
             "read if there (docs/sweeps.md).")(func)
    return func
