"""The benchmark's tools, which are not part of the installed app:

python -m tests.benchmark [--seconds 5 …]            measure every page (make benchmark)
python -m tests.benchmark generatemap [--systems …]  generate a large map to measure
python -m tests.benchmark digests [--people 1000]    measure the digest alone (RESULTS.md's section)
"""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsmodel.settings")
django.setup()

from tests.benchmark import benchmark, digests, generatemap  # noqa: E402 (after setup)

TOOLS = {"benchmark": benchmark, "digests": digests, "generatemap": generatemap}
args = sys.argv[1:]
tool = args.pop(0) if args and args[0] in TOOLS else "benchmark"
TOOLS[tool].Command().run_from_argv(["python -m tests.benchmark", tool, *args])
