"""Subprocess for the reliability tests: classify distinct images with the tiny colour pack and
record each one in a log, printing every committed inspection id (flushed) as it commits.

    python log_writer.py DB COUNT TAG [GO_FILE] [--group N]

With ``--group N`` the results are recorded N at a time through the batched path (stage every
file of the group together, then one transaction for the N rows) and the ids of a group are
printed once its transaction has committed.

The pack comes from ``TILIK_BUNDLED_PACKS_DIR`` (set by the test). Prints "ready" once imports
and the model are loaded, so a test can time its kill from the moment writing starts; with GO_FILE it then waits for that
file to exist, so two writers can be released at the same instant.
"""

from __future__ import annotations

import io
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from inference.inspector import Inspector  # noqa: E402
from inference.log import InspectionLog, SealFields  # noqa: E402


def main() -> int:
    argv = list(sys.argv)
    group = 0
    if "--group" in argv:
        at = argv.index("--group")
        group = int(argv[at + 1])
        del argv[at:at + 2]
    db, count, tag = Path(argv[1]), int(argv[2]), argv[3]
    inspector = Inspector.for_pack("colour")
    log = InspectionLog.open(db)
    rng = np.random.default_rng(zlib.crc32(tag.encode()))
    seal = SealFields(seal_number=f"S-{tag}", container_number="CSQU3054383", seal_class="security",
                      view=True, verify=True, tug=True, twist=True)
    print("ready", flush=True)
    if len(argv) > 4:
        go = Path(argv[4])
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    pending: list[tuple[object, bytes]] = []
    for i in range(count):
        rgb = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)  # a new image (and file) every time
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        data = buf.getvalue()
        result = inspector.classify(data, name=f"{tag}-{i}.png")
        if group:
            pending.append((result, data))
            if len(pending) == group:
                ids = log.record_results([r for r, _ in pending], images=[d for _, d in pending], operator=tag,
                                         station="test-bench", mode="seal", seal=seal, per_transaction=group)
                sys.stdout.write("".join(f"{i}\n" for i in ids))
                sys.stdout.flush()
                pending.clear()
            continue
        rec = log.record_result(result, image=data, operator=tag, station="test-bench", mode="seal", seal=seal)
        sys.stdout.write(f"{rec.id}\n")
        sys.stdout.flush()
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
