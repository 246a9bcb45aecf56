"""Auditors' command line, talking to Temporal directly (TEMPORAL_ADDRESS, PAYLOAD_ENCRYPTION_KEYS from the env).

    python -m audit.cli list [--ref CS…] [--type ServiceTicket] [--order-kind K] [--status completed]
                             [--started-since T] [--started-until T] [--closed-since T] [--closed-until T] [--limit N]
    python -m audit.cli export --workflow-id X [--run-id R] [--raw] [--out FILE]
    python -m audit.cli replay --file F [--workflow-id X]     # a history, a list of them, or a folder
                               [--quiet] [--progress-every S] [--unsandboxed]
    python -m audit.cli replay --workflow-id X [--run-id R]
    python -m audit.cli replay --closed-since T [--closed-until T] [--workflow-type Approval] [--limit N]

`list` prints one JSON line per run (newest first). Exports are in the `temporal workflow show --output json`
format, payloads decrypted unless --raw.
Replay prints one line per run as it goes (--quiet: only the diverged ones) and a summary, and on standard error a
progress line (judged/total, histories per minute, diverged) every few seconds; the exit code is 1 when any run
diverges. --unsandboxed replays about twice as fast, outside the workflow sandbox (see audit.replay.replay).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from temporalio.client import Client, WorkflowHistory

from audit.history import STATUSES, WorkflowFilter, decode_history, fetch_history, history_document, list_runs
from audit.replay import (
    ReplayProgress,
    Verdict,
    histories_closed_between,
    histories_from_path,
    histories_of_workflow,
    prepare_replayer_process,
    replay,
)
from infra.settings import get_settings
from infra.temporal import connect, data_converter


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} needs a UTC offset, e.g. 2026-05-01T00:00:00+08:00")
    return parsed


def parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    cli = argparse.ArgumentParser(
        prog="python -m audit.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = cli.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list runs by business reference, type, status and time range")
    listing.add_argument("--ref", dest="business_ref", help="ticket number or order id")
    listing.add_argument("--type", dest="workflow_type")
    listing.add_argument("--order-kind")
    listing.add_argument("--status", choices=sorted(STATUSES))
    for bound in ("started-since", "started-until", "closed-since", "closed-until"):
        listing.add_argument(f"--{bound}", type=_aware)
    listing.add_argument("--limit", type=int, default=100, help="at most this many runs (default 100)")
    export = commands.add_parser("export", help="write one workflow's history as JSON")
    export.add_argument("--workflow-id", required=True)
    export.add_argument("--run-id", help="a specific run (default: the latest)")
    export.add_argument("--raw", action="store_true", help="keep payloads encrypted, as stored")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    rep = commands.add_parser("replay", help="replay histories against the current workflow code")
    rep.add_argument("--file", type=Path, help="a history JSON file, a list of {workflow_id, history}, or a folder")
    rep.add_argument("--workflow-id", help="with --file: the workflow a bare history belongs to; alone: fetch it")
    rep.add_argument("--run-id")
    rep.add_argument("--closed-since", type=_aware)
    rep.add_argument("--closed-until", type=_aware)
    rep.add_argument("--workflow-type")
    rep.add_argument("--limit", type=int, help="at most this many runs from the time range")
    rep.add_argument("--quiet", action="store_true", help="print only the runs that diverge, and the summary")
    rep.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines (default 5)")
    rep.add_argument("--unsandboxed", action="store_true", help="faster: no sandbox (divergences are still found)")
    return cli


def describe(index: int, verdict: Verdict) -> str:
    """One progress line."""
    run = f"{verdict.workflow_type or '?'} {verdict.workflow_id} ({verdict.run_id or 'no run id'})"
    if verdict.ok:
        return f"[{index}] ok        {run}"
    where = f"event {verdict.event_id} ({verdict.event_type or '?'})" if verdict.event_id else "unknown event"
    return f"[{index}] DIVERGED  {run} at {where}: {verdict.reason}"


async def run(
    argv: Sequence[str],
    *,
    client: Client | None = None,
    workflows: Sequence[type] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Execute one command; returns the exit code. `client` defaults to a connection made from settings."""
    args = parser().parse_args(argv)
    settings = get_settings()
    converter = client.data_converter if client is not None else data_converter(settings)

    async def temporal() -> Client:
        return client or await connect(settings)

    if args.command == "list":
        return await _list(await temporal(), args, out)

    if args.command == "export":
        history = await fetch_history(await temporal(), args.workflow_id, args.run_id)
        if not args.raw and converter.payload_codec is not None:
            history = await decode_history(history, converter.payload_codec)
        text = json.dumps(history_document(history), indent=2, ensure_ascii=False)
        if args.out:
            args.out.write_text(text + "\n", encoding="utf-8")
            print(f"wrote {args.out} ({len(history.events)} events, run {history.run_id})", file=out)
        else:
            print(text, file=out)
        return 0

    sources: AsyncIterable[WorkflowHistory] | Iterable[WorkflowHistory]
    if args.file:
        sources = histories_from_path(args.file, workflow_id=args.workflow_id)
    elif args.workflow_id:
        sources = histories_of_workflow(await temporal(), args.workflow_id, args.run_id)
    elif args.closed_since or args.closed_until:
        sources = histories_closed_between(
            await temporal(), args.closed_since, args.closed_until, workflow_type=args.workflow_type, limit=args.limit
        )
    else:
        parser().error("replay needs --file, --workflow-id, or --closed-since/--closed-until")
    prepare_replayer_process(settings.data_dir)
    total = len(sources) if isinstance(sources, list) else (None if args.closed_since or args.closed_until else 1)
    progress = ReplayProgress(lambda line: print(line, file=err, flush=True), total=total, every=args.progress_every)

    def judged(index: int, verdict: Verdict) -> None:
        if not (args.quiet and verdict.ok):
            print(describe(index, verdict), file=out, flush=True)
        progress(index, verdict)

    report = await replay(
        sources, converter=converter, workflows=workflows, on_verdict=judged, sandboxed=not args.unsandboxed
    )
    s = report.summary
    print(f"replayed {s.total}: {s.clean} clean, {s.diverged} diverged", file=out)
    return 1 if s.diverged else 0


async def _list(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """Print the matching runs, one JSON document per line, following pages up to --limit."""
    try:
        wanted = WorkflowFilter(
            **{name: getattr(args, name) for name in WorkflowFilter.model_fields if name != "workflow_id"}
        )
    except ValidationError as exc:
        parser().error(f"list: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    token: bytes | None = None
    shown = 0
    while shown < args.limit:
        runs, token = await list_runs(client, wanted, page_size=min(100, args.limit - shown), page_token=token)
        for run in runs[: args.limit - shown]:
            print(run.model_dump_json(), file=out)
            shown += 1
        if token is None:
            break
    print(f"listed {shown}", file=out)
    return 0


def main() -> None:
    """Entry point."""
    raise SystemExit(asyncio.run(run(sys.argv[1:])))


if __name__ == "__main__":
    main()
