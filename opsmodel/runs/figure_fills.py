"""What the runs app draws on the process page, in the place it leaves for it: the figures of
the process's runs (opsmodel.slots)."""

from __future__ import annotations

from opsmodel import slots
from opsmodel.runs.stats import RECENT_RUNS, WEEKS, run_figures


@slots.fills("process-run-figures")
def process_run_figures(context, process) -> tuple[str, dict]:
    return "runs/_run_figures.html", {
        "figures": run_figures(process),
        "weeks": WEEKS,
        "recent": RECENT_RUNS,
    }
