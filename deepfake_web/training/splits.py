"""Identity-disjoint train/val/test splits: videos that share a person share a split.

Videos are joined into groups by union-find over their identities (a FaceForensics++ fake
``183_253`` joins the originals ``183`` and ``253``); whole groups are then dealt to the
splits in a seeded order, largest first, each to the split furthest below its target.
"""

from __future__ import annotations

import random
from collections import defaultdict

from .errors import TrainingError
from .manifest import SPLITS, VideoEntry


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def identity_groups(entries: list[VideoEntry]) -> list[list[int]]:
    """Indices of ``entries`` grouped so that no identity is shared between groups."""
    uf = _UnionFind(len(entries))
    first: dict[str, int] = {}
    for i, e in enumerate(entries):
        for ident in e.identities or (f"video:{e.path}",):
            if ident in first:
                uf.union(first[ident], i)
            else:
                first[ident] = i
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(entries)):
        groups[uf.find(i)].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def assign_splits(
    entries: list[VideoEntry],
    val: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
    fixed: dict[str, str] | None = None,
) -> list[VideoEntry]:
    """Return the entries with identity-disjoint splits of about the requested fractions.

    ``fixed`` maps identities to a split decided beforehand (e.g. FaceForensics++'s
    official lists); a group holding such an identity goes there, the rest are dealt.
    """
    if val < 0 or test < 0 or val + test >= 1:
        raise TrainingError("--val and --test must be ≥ 0 and add up to less than 1.")
    targets = {"train": 1.0 - val - test, "val": val, "test": test}
    groups = identity_groups(entries)
    rng = random.Random(seed)
    rng.shuffle(groups)
    groups.sort(key=len, reverse=True)  # stable: equal sizes keep the seeded order
    split_of: dict[int, str] = {}
    counts = dict.fromkeys(SPLITS, 0)
    fixed = fixed or {}
    free = []
    for g in groups:
        chosen = {fixed[i] for idx in g for i in entries[idx].identities if i in fixed}
        if len(chosen) > 1:
            names = sorted({i for idx in g for i in entries[idx].identities})[:6]
            raise TrainingError(f"Identities {names} are linked but fixed to splits {chosen}.")
        if chosen:
            split = chosen.pop()
            counts[split] += len(g)
            split_of.update(dict.fromkeys(g, split))
        else:
            free.append(g)
    total = len(entries)
    for g in free:
        # The split furthest below its target share (relative), ignoring empty targets.
        split = max(
            (s for s in SPLITS if targets[s] > 0),
            key=lambda s: (targets[s] * total - counts[s]) / (targets[s] * total),
        )
        counts[split] += len(g)
        split_of.update(dict.fromkeys(g, split))
    return [
        VideoEntry(e.path, e.label, e.method, e.identities, split_of[i])
        for i, e in enumerate(entries)
    ]


def check_disjoint(entries: list[VideoEntry]) -> list[str]:
    """Identities that appear in more than one split (empty when the splits are clean)."""
    where: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        for ident in e.identities:
            where[ident].add(e.split)
    return sorted(i for i, s in where.items() if len(s) > 1)
