"""The benchmark's tools, which are not part of the installed app:

python -m tests.benchmark [--seconds 5 …]            measure every page (make benchmark)
python -m tests.benchmark --sqlite P --postgres URL  … on both databases, one table each
python -m tests.benchmark profile [--times 5 …]      where each page's time goes (pyinstrument)
python -m tests.benchmark generatemap [--systems …]  generate a large map to measure
python -m tests.benchmark digests [--people 1000]    measure the digest alone (RESULTS.md's section)
"""

import os
import secrets
import sys

import django

from tests.benchmark import production_env

args = sys.argv[1:]
if args and args[0] == "profile":  # in-process, with the settings the benchmark's server has
    os.environ.update(production_env(secrets.token_urlsafe(64)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsmodel.settings")
django.setup()

from tests.benchmark import benchmark, digests, generatemap, profile  # noqa: E402 (after setup)

TOOLS = {"benchmark": benchmark, "digests": digests, "generatemap": generatemap, "profile": profile}
tool = args.pop(0) if args and args[0] in TOOLS else "benchmark"
TOOLS[tool].Command().run_from_argv(["python -m tests.benchmark", tool, *args])
