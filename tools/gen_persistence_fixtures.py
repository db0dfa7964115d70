"""Copy the reference RDB files into tests/fixtures/persistence/ and record what Redis loads.

    .venv/bin/python tools/gen_persistence_fixtures.py /path/to/shared/reference/persistence

The top-level files come with their `.expected.json` (copied as they are). For the files of
`legacy/`, which have none, the expectation is made here by loading each one into the local
real redis-server (7.0) and reading its keyspace back (`tests/persist_util.server_keyspace`):
`<name>.expected.json` holds the keyspace, or `{"refused": true, "log": ...}` when Redis
refuses the file, and `"empty_keys_skipped"` when it skipped empty keys.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from persist_util import Raw, server_keyspace  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "persistence"


def load_with_redis(path: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rdbfix-"))
    shutil.copy(path, work / path.name)
    sock = str(work / "redis.sock")
    log = work / "redis.log"
    cmd = ["redis-server", "--port", "0", "--unixsocket", sock, "--dir", str(work), "--dbfilename", path.name,
           "--save", "", "--appendonly", "no"]  # fmt: skip
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        c = None
        while c is None:
            if proc.poll() is not None:
                text = log.read_text(errors="replace")
                lines = [re.sub(r"^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ . ", "", ln) for ln in text.splitlines()]
                return {"refused": True, "log": lines[-8:]}
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start for %s" % path)
            try:
                c = Raw(path=sock)
                if c.cmd("PING") != b"PONG":  # still loading
                    c.close()
                    c = None
            except OSError:
                c = None
            time.sleep(0.05)
        keyspace = server_keyspace(c)
        try:
            c.cmd("SHUTDOWN", "NOSAVE")
        except ConnectionError:
            pass  # the server closes the connection as it exits
        c.close()
        proc.wait(10)
        text = log.read_text(errors="replace")
        m = re.search(r"empty keys skipped: (\d+)", text)
        result: dict = {"keyspace": keyspace}
        if m:
            result["empty_keys_skipped"] = int(m.group(1))
        return result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main(ref: str) -> None:
    src = Path(ref)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "legacy").mkdir(exist_ok=True)
    for name in ("small", "big", "uncompressed"):
        shutil.copyfile(src / f"{name}.rdb", OUT / f"{name}.rdb")
        shutil.copyfile(src / f"{name}.expected.json", OUT / f"{name}.expected.json")
    for f in sorted((src / "legacy").iterdir()):
        shutil.copyfile(f, OUT / "legacy" / f.name)
        if f.suffix != ".rdb":
            continue
        result = load_with_redis(f)
        (OUT / "legacy" / (f.stem + ".expected.json")).write_text(json.dumps(result, indent=1) + "\n")
        print(f.name, "refused" if result.get("refused") else "%d keys" % len(result["keyspace"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "reference" / "persistence"))
