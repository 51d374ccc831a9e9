"""Summarise a py-spy raw (collapsed) profile: top functions by self and total time.

py-spy record -p PID -d 10 -f raw -o prof.txt
python bench/profile_top.py prof.txt [--top 25]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def summarise(path: Path, top: int) -> dict[str, object]:
    self_time: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [short(f) for f in stack.split(";")[1:]]  # drop the process/thread frame
        if not frames:
            continue
        self_time[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * c / samples, 1)) for f, c in counter.most_common(top)]

    return {"samples": samples, "self_pct": pct(self_time), "total_pct": pct(total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(json.dumps(summarise(args.profile, args.top), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
