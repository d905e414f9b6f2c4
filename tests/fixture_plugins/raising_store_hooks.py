"""A store plugin whose hooks raise (a bug, not a refusal), asked before the built-in
store: every command that needs a store must exit 1 and name the plugin and the hook."""
from flowctl import hookimpl


@hookimpl
def flowctl_default_store_url(project_dir):
    raise RuntimeError("boom in default_store_url")


@hookimpl
def flowctl_store_exists(url):
    raise RuntimeError("boom in store_exists")


@hookimpl
def flowctl_open_store(url):
    raise RuntimeError("boom in open_store")
