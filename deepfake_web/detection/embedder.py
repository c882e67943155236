"""One thread runs the backbone for every analysis of a process, batching their crops together.

When a worker runs several analyses at once, each finds faces on its own threads and hands
its crops here; the embedder thread takes whatever is waiting for the same backbone (up to
``max_batch`` crops), runs it as one batch and hands each analysis its rows back. Only one
backbone call runs at a time, so concurrent analyses do not fight over the cores for it
while their face search, decoding and previews overlap with it.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch

from .backbones import Backbone

log = logging.getLogger(__name__)


@dataclass
class _Request:
    backbone: Backbone
    x: torch.Tensor
    done: Future = field(default_factory=Future)


class SharedEmbedder:
    """A backbone thread shared by concurrent analyses; ``embed`` blocks until its rows are done."""

    def __init__(self, max_batch: int = 64) -> None:
        """Batch at most ``max_batch`` crops per backbone call."""
        self.max_batch = max_batch
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="embedder", daemon=True)
        self._thread.start()
        self.calls = 0
        self.crops = 0

    def embed(self, backbone: Backbone, x: torch.Tensor) -> torch.Tensor:
        """Features of ``x`` by ``backbone``, computed on the embedder thread with others' crops."""
        request = _Request(backbone, x)
        self._queue.put(request)
        return request.done.result()

    def close(self) -> None:
        """Stop the thread once the waiting requests are done."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _take(self, first: _Request) -> tuple[list[_Request], list[_Request]]:
        """``first`` and what waits for the same backbone (within ``max_batch``); the rest apart."""
        batch, others, size = [first], [], first.x.shape[0]
        while True:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                others.append(nxt)
                break
            if nxt.backbone is first.backbone and size + nxt.x.shape[0] <= self.max_batch:
                batch.append(nxt)
                size += nxt.x.shape[0]
            else:
                others.append(nxt)
        return batch, others

    def _run(self) -> None:
        pending: list[_Request | None] = []
        while True:
            request = pending.pop(0) if pending else self._queue.get()
            if request is None:
                return
            batch, others = self._take(request)
            pending.extend(others)
            try:
                x = torch.cat([r.x for r in batch]) if len(batch) > 1 else batch[0].x
                feats = request.backbone(x)
                self.calls += 1
                self.crops += x.shape[0]
                start = 0
                for r in batch:
                    n = r.x.shape[0]
                    r.done.set_result(feats[start : start + n])
                    start += n
            except BaseException as exc:  # hand the failure to every caller waiting on it
                for r in batch:
                    if not r.done.done():
                        r.done.set_exception(exc)
