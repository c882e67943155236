"""A real ``deepfake-web serve`` (gunicorn + worker) on a free port, and a plain HTTP client.

Used by the reliability suite and by ``benchmarks/bench_load.py``. Everything stays on
127.0.0.1; every wait is bounded. The client is the standard library's ``http.client``, so
hostile requests (raw paths, raw header bytes, odd multipart names) go out unaltered.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TERMINAL = ("done", "failed")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    """One HTTP answer (``status`` 0 when the connection failed, with ``error`` set)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    error: str | None = None

    @property
    def json(self) -> Any:
        """The body as JSON (None when it is not)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def reason(self) -> str:
        """The error message of a refusal (JSON ``error.message``, or the page's text)."""
        data = self.json
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return str(data["error"].get("message") or "")
        return self.body.decode("utf-8", "replace")


def multipart(
    fields: Mapping[str, str], files: Mapping[str, tuple[bytes | str, bytes]] = {}
) -> tuple[bytes, str]:
    """A multipart/form-data body; file names may be raw bytes (sent as they are)."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, data) in files.items():
        raw = filename if isinstance(filename, bytes) else filename.encode("utf-8")
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="'.encode()
        out += raw + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


class Client:
    """Requests to one server; remembers every reply's status (for "no 5xx" checks)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        """Talk to 127.0.0.1:``port`` (with the bearer ``token`` on changing requests)."""
        self.port, self.token = port, token
        self.statuses: list[tuple[str, str, int]] = []

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str | bytes] | None = None,
        timeout: float = 120,
    ) -> Reply:
        """Send one request; a connection failure is a Reply with status 0."""
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            all_headers: dict[str, str | bytes] = dict(headers or {})
            if body is not None:
                all_headers.setdefault("Content-Length", str(len(body)))
            for key, value in all_headers.items():
                conn.putheader(key, value)
            conn.endheaders(body)
            res = conn.getresponse()
            reply = Reply(res.status, dict(res.getheaders()), res.read())
        except (OSError, http.client.HTTPException) as exc:
            reply = Reply(0, error=f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
        reply.seconds = time.perf_counter() - t0
        self.statuses.append((method, path, reply.status))
        return reply

    def get(self, path: str, **kw) -> Reply:
        """GET ``path``."""
        return self.request("GET", path, **kw)

    def upload(
        self,
        data: bytes,
        name: bytes | str = "clip.mp4",
        frames: int = 8,
        client_ip: str | None = None,
        auth: bool = True,
        extra: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST /api/analyses as the client at ``client_ip`` (via X-Forwarded-For)."""
        body, ctype = multipart(
            {"sequence_length": str(frames), **(extra or {})}, {"file": (name, data)}
        )
        headers: dict[str, str] = {"Content-Type": ctype, "Accept": "application/json"}
        if client_ip:
            headers["X-Forwarded-For"] = client_ip
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.request("POST", "/api/analyses", body, headers)

    def status(self, analysis_id: str) -> Reply:
        """GET /api/analyses/<id>."""
        return self.get(f"/api/analyses/{analysis_id}", headers={"Accept": "application/json"})

    def wait_terminal(
        self, ids: list[str], timeout: float = 300, poll_s: float = 0.5
    ) -> dict[str, dict]:
        """Poll until every analysis is done or failed (or the time is up); the last statuses."""
        last: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        pending = set(ids)
        while pending and time.monotonic() < deadline:
            for aid in sorted(pending):
                reply = self.status(aid)
                if reply.status == 200:
                    last[aid] = reply.json
                    if reply.json["status"] in TERMINAL:
                        pending.discard(aid)
            if pending:
                time.sleep(poll_s)
        return last

    def server_errors(self) -> list[tuple[str, str, int]]:
        """Every request answered with a 5xx other than 503 (and every 500)."""
        return [s for s in self.statuses if s[2] >= 500 and s[2] != 503]


class LiveServer:
    """``deepfake-web serve`` on a free port with its own instance and models folders."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None, frames: int = 8) -> None:
        """Prepare folders and a demo checkpoint of ``frames`` frames (written by the CLI)."""
        self.root = root
        self.instance = root / "instance"
        self.models = root / "models"
        self.log = root / "server.log"
        self.port = free_port()
        self.instance.mkdir(parents=True, exist_ok=True)
        self.models.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DEEPFAKE_INSTANCE_PATH": str(self.instance),
            "DEEPFAKE_MODELS_DIR": str(self.models),
            "DEEPFAKE_HEARTBEAT_INTERVAL_S": "1",
            "DEEPFAKE_HEARTBEAT_STALE_S": "15",
            "DEEPFAKE_RECOVERY_INTERVAL_S": "5",
            "DEEPFAKE_TRUSTED_PROXIES": "1",  # the tests are many clients behind one proxy
            "DEEPFAKE_API_TOKEN": "reliability-token",  # scripts send it as a bearer token
            "DEEPFAKE_FACE_WORKERS": "1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        if not any(self.models.glob("*.pt")):
            subprocess.run(
                [str(BIN / "deepfake-web"), "models", "demo", "--models-dir", str(self.models),
                 "-n", str(frames)],
                cwd=ROOT, env=self.env, check=True, capture_output=True,
            )  # fmt: skip

    @property
    def client(self) -> Client:
        """A new client of this server (with its token, if the server has one)."""
        return Client(self.port, self.env.get("DEEPFAKE_API_TOKEN"))

    def start(self, timeout: float = 120) -> None:
        """Start serve and wait until the web answers and the worker has started."""
        mark = self.log_text().count("warmed up") + self.log_text().count("nothing to warm up")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "deepfake-web"), "serve", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        probe = Client(self.port)
        worker_seen: float | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited ({self.proc.returncode}):\n{self.log_tail()}")
            text = self.log_text()
            warm = text.count("warmed up") + text.count("nothing to warm up")
            if worker_seen is None and self.worker_pid() is not None:
                worker_seen = time.monotonic()
            quiet = worker_seen is not None and time.monotonic() - worker_seen > 30
            if (warm > mark or quiet) and probe.get("/api/models").status == 200:
                return  # (a worker that logs no warm-up has had 30 s to load the model)
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"serve did not start in {timeout} s:\n{self.log_tail()}")

    def descendants(self) -> list[int]:
        """Pids of every process serve started (gunicorn master and workers, the worker)."""
        if self.proc is None:
            return []
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            for child in children.get(pid, []):
                out.append(child)
                todo.append(child)
        return out

    def worker_pid(self) -> int | None:
        """The analysis worker's pid."""
        for pid in self.descendants():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"deepfake_web" in cmd and b"worker" in cmd:
                return pid
        return None

    def kill_worker(self) -> int:
        """kill -9 the worker (serve starts a new one); returns the killed pid."""
        pid = self.worker_pid()
        assert pid is not None, "no worker process found"
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        """kill -9 serve, gunicorn and the worker at once (a power cut, for the processes)."""
        if self.proc is None:
            return
        pids = [self.proc.pid, *self.descendants()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        self._wait_gone(pids)
        self.proc = None

    def stop(self) -> None:
        """Ctrl-C (graceful), then kill -9 whatever is left after a minute."""
        if self.proc is None:
            return
        pids = [self.proc.pid, *self.descendants()]
        self.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=60)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        self._wait_gone(pids)
        self.proc = None

    @staticmethod
    def _wait_gone(pids: list[int], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(Path(f"/proc/{pid}").exists() for pid in pids):
                return
            time.sleep(0.1)

    def log_text(self) -> str:
        """Everything serve, gunicorn and the worker have written."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the log."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until true, or fail saying ``what`` was awaited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log_tail()}")
