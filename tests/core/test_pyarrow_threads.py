"""Two background jobs reading Parquet at once in a fresh process (the GUI's run space and an opened file): the
first import of pyarrow must not be shared half-done between them."""
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def _write(path, seed):
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(20, 4)).astype(np.float32)
    pq.write_table(pa.table({"embedding": list(vecs), "label": np.arange(20) % 3}), path)


def test_two_threads_reading_parquet_in_a_fresh_process_both_succeed(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _write(a, 0)
    _write(b, 1)
    script = textwrap.dedent(f"""
        import sys, threading
        import core
        results, barrier = {{}}, threading.Barrier(2)
        def job(p):
            barrier.wait()
            try:
                results[p] = core.file_space(p).n
            except BaseException as exc:
                results[p] = repr(exc)
        threads = [threading.Thread(target=job, args=(p,)) for p in ({str(a)!r}, {str(b)!r})]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(sorted(map(str, results.values())))
    """)
    for _ in range(1):  # a fresh interpreter: the race is on the very first import
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "['20', '20']", out.stdout + out.stderr
