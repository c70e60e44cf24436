"""Whole-history reads for `audit --history`: every version of many files from one `git log
--raw` and one `git cat-file --batch`, instead of one `git log` and one `git show` per file."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator
from typing import IO

from cocflow.adapters.git import GitRepo, bounded_memory, require_git
from cocflow.errors import GitFailed

Versions = dict[str, list[tuple[str, str]]]



def versions(repo: GitRepo, *pathspecs: str) -> Versions:
    """Path -> (commit, blob id) of every committed version of every file under `pathspecs`,
    newest first. All history is walked (`--full-history`: a side branch a merge dropped
    still counts); a merge counts with what it changed against its first parent, which is
    where a version written by the merge driver first appears."""
    listing = repo.run("-c", "core.quotePath=false", "log", "--raw", "--no-abbrev",
                       "--no-renames", "--full-history", "--diff-merges=first-parent",
                       "--format=commit %H", "--", *pathspecs)
    found: Versions = {}
    commit = ""
    for line in listing.splitlines():
        if line.startswith("commit "):
            commit = line[len("commit "):]
        elif line.startswith(":"):
            info, _, path = line.partition("\t")
            fields = info.split()
            blob = fields[3] if len(fields) > 3 else ""
            if commit and path and blob.strip("0"):  # all zeros: the commit deleted it
                found.setdefault(path, []).append((commit, blob))
    return found


def read_blobs(repo: GitRepo, blob_ids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """(id, content) of each blob, in the order asked, streamed from one `git cat-file
    --batch --buffer` (never all in memory at once); a missing object is skipped."""
    wanted = list(dict.fromkeys(blob_ids))
    if not wanted:
        return
    require_git()
    process = subprocess.Popen(["git", "cat-file", "--batch", "--buffer"], cwd=repo.root,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL,
                               env={**os.environ, **bounded_memory(os.environ)})
    assert process.stdin is not None and process.stdout is not None
    request = "".join(f"{blob}\n" for blob in wanted).encode("ascii")
    writer = threading.Thread(target=_feed, args=(process.stdin, request), daemon=True)
    writer.start()
    try:
        yield from _answers(process.stdout, len(wanted))
    finally:
        process.stdout.close()
        process.kill()
        process.wait()
        writer.join()


def _feed(stream: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, ValueError):
        stream.write(data)
    with contextlib.suppress(BrokenPipeError, ValueError):
        stream.close()


def _answers(stream: IO[bytes], count: int) -> Iterator[tuple[str, bytes]]:
    """`<id> <type> <size>` and the content, or `<id> missing`, once per id asked."""
    for _ in range(count):
        header = stream.readline().decode("ascii", "replace").split()
        if not header:
            raise GitFailed("git cat-file --batch stopped early")
        if len(header) != 3:
            continue  # "<id> missing": nothing follows
        content = stream.read(int(header[2]))
        stream.read(1)  # the newline after each object
        if header[1] == "blob":
            yield header[0], content

