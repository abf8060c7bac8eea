"""Large freed blocks go back to the system: Argon2 on many threads leaves no RSS behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from relay.memory import release_large_blocks

# Four 12 MiB verifications at once, then eight one after another on new threads: with
# glibc's moving threshold each thread's arena kept its 12 MiB (+48 MiB, measured).
SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from relay.auth._passwords import dummy_hash, verify_password
    from relay.memory import release_large_blocks

    def rss_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    fixed = release_large_blocks()
    stored = dummy_hash()
    before = rss_mib()
    threads = [threading.Thread(target=verify_password, args=(stored, "guess")) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    for _ in range(8):
        t = threading.Thread(target=verify_password, args=(stored, "guess")); t.start(); t.join()
    print(fixed, rss_mib() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc's malloc")
def test_argon2_on_many_threads_leaves_no_rss_behind() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    fixed, growth = out.stdout.split()
    assert fixed == "True"
    assert float(growth) < 12, f"RSS grew {growth} MiB after 12 verifications"


def test_release_large_blocks_says_whether_it_could() -> None:
    assert release_large_blocks() in (True, False)
