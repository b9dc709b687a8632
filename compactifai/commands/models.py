"""``compactifai models``: the live model catalog, slim or original."""

from __future__ import annotations

import argparse
import json

from compactifai.commands._common import (
    add_connection_arguments,
    console,
    guarded,
    make_client,
    model_json,
    models_table,
    print_table,
)

__all__ = ["EXAMPLE", "HELP", "add_arguments", "run"]

HELP = "List the models the API serves (slim or original)"
EXAMPLE = """examples:
  compactifai models
  compactifai models --json | jq -r '.[] | select(.kind == "slim") | .id'
  compactifai models --json | jq -r '.[] | select(.capabilities.supports_function_calling) | .id'

Capability columns: yes, no, or ? when the server does not report the flag.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list (id, owned_by, parameters, created, kind, original, "
        "context_window, capabilities) instead of a table",
    )
    add_connection_arguments(parser)


def _run(args: argparse.Namespace) -> int:
    out = None if args.json else console()  # --json needs no rich
    with make_client(args) as client:
        models = client.list_models()
    if out is None:
        print(json.dumps([model_json(m) for m in models], indent=2))
        return 0
    print_table(out, models_table(models, title=f"{len(models)} models at {client.base_url}"))
    return 0


run = guarded(_run)
