"""The command group: lazily loaded commands, a cheap `--version` and `--help`."""
from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

import flowctl.cli as cli
from flowctl.testing import invoke_cli as invoke

HEAVY = ("jsonschema", "jinja2", "babel", "numpy")


def test_the_table_lists_every_command_of_every_module_with_its_own_help():
    found = {}
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"flowctl.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            found[command.name] = (info.name, command.get_short_help_str(limit=10**6))
    assert found == cli.COMMANDS


def test_help_lists_the_commands_as_click_would():
    result = invoke("--help")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(cli.COMMANDS)


def test_an_unknown_command_is_a_usage_error():
    result = invoke("stauts")
    assert result.exit_code == 2 and "No such command 'stauts'" in result.output


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_import_neither_jsonschema_jinja2_nor_babel(args):
    probe = ("import sys\nfrom flowctl.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
             "print('\\n' + __import__('json').dumps(sorted(m for m in %r if m in sys.modules)))" % (args, HEAVY))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
