"""Subprocess for the reliability tests: classify distinct images with the tiny colour pack and
record each one in a log, printing every committed inspection id (flushed) as it commits.

    python log_writer.py DB COUNT TAG [GO_FILE]

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
    db, count, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    inspector = Inspector.for_pack("colour")
    log = InspectionLog.open(db)
    rng = np.random.default_rng(zlib.crc32(tag.encode()))
    seal = SealFields(seal_number=f"S-{tag}", container_number="CSQU3054383", seal_class="security",
                      view=True, verify=True, tug=True, twist=True)
    print("ready", flush=True)
    if len(sys.argv) > 4:
        go = Path(sys.argv[4])
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    for i in range(count):
        rgb = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)  # a new image (and file) every time
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        data = buf.getvalue()
        result = inspector.classify(data, name=f"{tag}-{i}.png")
        rec = log.record_result(result, image=data, operator=tag, station="test-bench", mode="seal", seal=seal)
        sys.stdout.write(f"{rec.id}\n")
        sys.stdout.flush()
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
