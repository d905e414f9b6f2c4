"""What one `flowctl run` was asked to do and what it set up for it, made once and read by
every step: the workflow (compiled), the day, the plugins' actions and templates, the
notification rules, the effects (made, or kept as a dry run's plan), and which share of
the deals this process takes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import zlib
from pathlib import Path
from typing import Any

from .compiled import CompiledWorkflow
from .effects import Effects, Made
from .hooktypes import Action
from .metrics import MetricSet, alert_configs
from .model import Workflow
from .notify import Notifier
from .store import FileEntry
from .templating import Templates

BATCH_SIZE = 500  # deals recorded per transaction; files looked up in the manifest at once


def share(key: str, n: int) -> int:
    """Which of n parts a file path or deal id falls in: stable across processes and
    machines (Python's own hash is salted per process)."""
    return zlib.crc32(key.encode("utf-8")) % n


@dataclasses.dataclass
class RunSetup:
    wf: Workflow
    cw: CompiledWorkflow
    plugins: Any
    now: dt.date
    effects: Effects
    templates: Templates
    notifier: Notifier
    actions: dict[str, Action]
    out_dir: Path  # where actions write files
    watch: MetricSet | None  # declared metrics with a target: fed every deal, they raise metric_alert
    shard: tuple[int, int] | None = None  # (k, n): this run takes the deals whose id hashes to k (--shard)
    part: tuple[int, int] | None = None  # (i, n): this process takes the files whose path hashes to i (--jobs)
    retry_dead: bool = False  # dead messages are tried again (--retry-dead)
    file_digests: bool = False  # keep each file's sha256 (for a saved plan)

    @classmethod
    def make(cls, workflow: Workflow, workflow_path: str, plugins: Any, now: dt.date, *,
             effects: Effects | None = None, shard: tuple[int, int] | None = None, retry_dead: bool = False,
             file_digests: bool = False) -> "RunSetup":
        templates = Templates.for_workflow(workflow_path, plugins.template_dirs())
        configs = alert_configs(workflow)
        return cls(workflow, CompiledWorkflow(workflow), plugins, now, effects or Made(), templates,
                   Notifier(workflow, templates), plugins.actions(),
                   Path(workflow_path).resolve().parent / ".flowctl" / "artifacts",
                   MetricSet(workflow, now, plugins, configs) if configs else None,
                   shard=shard, retry_dead=retry_dead, file_digests=file_digests)

    def mine(self, deal_id: str) -> bool:
        """Whether this run takes the deal (--shard)."""
        return self.shard is None or share(deal_id, self.shard[1]) == self.shard[0]

    def my_file(self, path: str) -> bool:
        """Whether this process takes the file (--jobs)."""
        return self.part is None or share(path, self.part[1]) == self.part[0]

    def unchanged(self, entry: FileEntry | None, st: os.stat_result) -> bool:
        """The file is as the last run read it, under this workflow, no deadline passed."""
        return (entry is not None and entry.ok and entry.size == st.st_size and entry.mtime_ns == st.st_mtime_ns
                and entry.workflow_digest == self.wf.digest
                and (entry.next_deadline is None or entry.next_deadline > self.now))
