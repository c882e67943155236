"""``deepfake-web serve`` (gunicorn + worker together) and ``deepfake-web worker``."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import click

from deepfake_web.paths import PROJECT_ROOT

log = logging.getLogger(__name__)

WORKER_STOP_S = 60


@click.command()
@click.option(
    "--concurrency",
    "--threads",
    "threads",
    type=click.IntRange(1, 8),
    default=None,
    help="Analyses at once; they share one backbone thread that batches their face crops "
    "[default: WORKER_THREADS, 1].",
)
def worker(threads: int | None) -> None:
    """Run the analysis worker (the huey consumer) until interrupted."""
    from deepfake_web.jobs import consumer
    from deepfake_web.web.app import create_app

    app = create_app()
    if not logging.getLogger("deepfake_web").level:  # the service's log: what ran, what failed
        logging.getLogger("deepfake_web").setLevel(logging.INFO)
    if threads is None:
        threads = int(app.config["WORKER_THREADS"])
    click.echo(
        f"worker: queue {app.config['QUEUE_URL']}, models {app.config['MODELS_DIR']}, "
        f"{threads} at once"
    )
    consumer.run(app, threads)


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, start_new_session=True)


def _stop(proc: subprocess.Popen | None, sig: int, timeout: float) -> None:
    """Send ``sig`` to the process group; SIGKILL after ``timeout`` s or a second Ctrl-C."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Start the web server (gunicorn) and the analysis worker together; Ctrl-C stops both.

    The database schema is brought up to date first. A worker that dies is restarted (the
    analysis it was running is retried once or marked failed).
    """
    venv_bin = os.path.dirname(sys.executable)
    env = dict(os.environ, DEEPFAKE_BIND=f"{host}:{port}")
    flask = [os.path.join(venv_bin, "flask"), "--app", "deepfake_web", "db", "upgrade"]
    subprocess.run(flask, cwd=PROJECT_ROOT, env=env, check=True)
    web_cmd = [os.path.join(venv_bin, "gunicorn"), "-c", str(PROJECT_ROOT / "gunicorn.conf.py")]
    worker_cmd = [sys.executable, "-m", "deepfake_web", "worker"]
    stopping = False

    def request_stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    web = _spawn(web_cmd, env)
    work = _spawn(worker_cmd, env)
    click.echo(f"deepfake-web: http://{host}:{port}  (Ctrl-C stops the server and the worker)")
    restarts: list[float] = []
    try:
        while not stopping:
            time.sleep(0.5)
            if web.poll() is not None:
                click.echo(f"gunicorn exited with status {web.returncode}; stopping.", err=True)
                break
            if work.poll() is not None and not stopping:
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > 5:
                    click.echo("the worker keeps dying; stopping.", err=True)
                    break
                click.echo(f"worker exited ({work.returncode}); restarting it.", err=True)
                work = _spawn(worker_cmd, env)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: now
        if work.poll() is None:
            click.echo("stopping: the worker finishes its current analysis first (at most "
                       f"{WORKER_STOP_S} s; Ctrl-C again to stop at once)", err=True)  # fmt: skip
        _stop(web, signal.SIGTERM, 20)
        _stop(work, signal.SIGINT, WORKER_STOP_S)  # huey: SIGINT is a graceful stop
    sys.exit(0 if stopping else 1)
