"""A store plugin that keeps every project's store in one place ($ELSEWHERE_DB), under
its own scheme: the default URL and whether the store exists are the plugin's to say."""
import os

from flowctl import hookimpl
from flowctl.plugins.sqlite_store import SQLiteStore


@hookimpl(tryfirst=True)
def flowctl_default_store_url(project_dir):
    return "elsewhere://" + os.environ["ELSEWHERE_DB"]


@hookimpl
def flowctl_store_exists(url):
    return os.path.isfile(url[len("elsewhere://"):]) if url.startswith("elsewhere://") else None


@hookimpl
def flowctl_open_store(url):
    return SQLiteStore(url, url[len("elsewhere://"):]) if url.startswith("elsewhere://") else None
