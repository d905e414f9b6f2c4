"""Where the shared, read-only data sets are: `../shared` beside the repository, as CI
and every checkout have it (or $FLOWCTL_MAVEN_DIR)."""
from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAVEN = Path(os.environ.get("FLOWCTL_MAVEN_DIR") or SHARED / "data" / "maven-crm-sales-opportunities")
