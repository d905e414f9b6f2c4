"""scripts/typecheck: mypy sees the installed package `flowctl`, every module of it, and
its report names the repository's files. (mypy itself runs in scripts/test, not here.)"""
from __future__ import annotations

import configparser
import importlib.machinery
import importlib.util
import shutil
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script() -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader("typecheck", str(ROOT / "scripts" / "typecheck"))
    spec = importlib.util.spec_from_loader("typecheck", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_tree_holds_every_source_file_of_every_installed_package():
    typecheck = _script()
    links = typecheck.build_tree(ROOT, Path("build") / "typecheck-test")
    try:
        sources = {p.relative_to(ROOT).as_posix()
                   for folder in typecheck.package_dirs(ROOT / "setup.cfg").values()
                   for p in (ROOT / folder).glob("*.py")}
        assert sources and {s for s in links.values() if s.endswith(".py")} == sources
        assert links["build/typecheck-test/flowctl/store.py"] == "engine/store.py"
        assert links["build/typecheck-test/flowctl/plugins/sqlite_store.py"] == "plugins/sqlite_store.py"
        assert links["build/typecheck-test/flowctl/cli/run.py"] == "engine/cli/run.py"
        for link, source in links.items():
            assert (ROOT / link).resolve() == (ROOT / source).resolve()
        assert (ROOT / "build/typecheck-test/flowctl/py.typed").exists()
    finally:
        shutil.rmtree(ROOT / "build" / "typecheck-test", ignore_errors=True)


def test_package_dirs_follow_setup_cfg_including_packages_without_a_mapping(tmp_path):
    (tmp_path / "setup.cfg").write_text(
        "[options]\npackage_dir =\n    flowctl = engine\n    flowctl.plugins = plugins\n"
        "packages =\n    flowctl\n    flowctl.plugins\n    extra.tools\n", encoding="utf-8")
    assert _script().package_dirs(tmp_path / "setup.cfg") == {
        "flowctl": "engine", "flowctl.plugins": "plugins", "extra.tools": "extra/tools"}


def test_reported_paths_become_the_repository_files():
    links = {"build/typecheck/flowctl/store.py": "engine/store.py"}
    source_paths = _script().source_paths
    assert source_paths("build/typecheck/flowctl/store.py:12: error: bad  [arg-type]", links) == \
        "engine/store.py:12: error: bad  [arg-type]"
    assert source_paths("Found 1 error in 1 file (checked 98 source files)", links) == \
        "Found 1 error in 1 file (checked 98 source files)"
    assert source_paths("Success: no issues found", links) == "Success: no issues found"


def test_the_mypy_configuration_checks_the_whole_package_strictly():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    mypy = parser["mypy"]
    assert mypy["packages"] == "flowctl"
    assert mypy["mypy_path"].endswith("build/typecheck")
    for flag in ("check_untyped_defs", "disallow_untyped_defs", "warn_unused_ignores", "no_implicit_optional"):
        assert mypy.getboolean(flag), flag
    test_extra = parser["options.extras_require"]["test"]
    assert "mypy" in test_extra and "types-PyYAML" in test_extra
