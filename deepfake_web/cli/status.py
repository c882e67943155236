"""``deepfake-web status``: the workers on every machine, what each runs, and the queue."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Also list workers that stopped cleanly.")
def status(as_json: bool, show_all: bool) -> None:
    """List the analysis workers (last heartbeat, what each runs) and the queue depth.

    Reads the database and the queue of this machine's settings (DEEPFAKE_DATABASE_URL,
    DEEPFAKE_QUEUE_URL), so it can run on any machine of a deployment.
    """
    from deepfake_web.jobs.workers import status as read_status
    from deepfake_web.web.app import create_app

    data = read_status(create_app(), include_stopped=show_all)
    click.echo(json.dumps(data, indent=2) if as_json else render(data))


def render(data: dict[str, Any]) -> str:
    """The status as lines of text."""
    q = data["queue"]
    pending = "?" if q["pending_in_queue"] is None else q["pending_in_queue"]
    lines = [
        f"queue: {q['queued']} queued, {q['running']} running, {pending} messages in the queue",
        f"workers (dead after {data['dead_after_s']:g} s without a heartbeat):",
    ]
    if not data["workers"]:
        lines.append("  none")
    for w in data["workers"]:
        since = w["seconds_since_heartbeat"]
        lines.append(
            f"  {w['host']}:{w['pid']}  {w['state']}  last heartbeat {w['heartbeat_at']}"
            f" ({since:g} s ago)  threads {w['threads']}"
        )
        for a in w["running"] or [{"id": None}]:
            if a["id"] is None:
                lines.append("    idle")
            else:
                lines.append(
                    f"    running {a['id']} {a['file_name']!r} ({a['stage']}, "
                    f"{100 * a['progress']:.0f}%, attempt {a['attempt']})"
                )
    return "\n".join(lines)
