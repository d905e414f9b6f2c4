"""click.echo / click.secho for text that holds deal values: escaped before styling, so
flowctl's own colours stay and a deal's control sequences never reach the terminal."""
from __future__ import annotations

from typing import Any

import click

from ..terminal import escape_controls


def echo(message: Any = None, err: bool = False, **kwargs: Any) -> None:
    click.echo(escape_controls(str(message)) if message is not None else None, err=err, **kwargs)


def secho(message: Any = None, err: bool = False, **styles: Any) -> None:
    click.secho(escape_controls(str(message)) if message is not None else None, err=err, **styles)
