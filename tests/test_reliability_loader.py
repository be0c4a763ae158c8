"""Loader reliability (issue 8): crash safety, hostile names, injected faults, a large file.

Faults are injected, not produced with permissions (CI runs as root): a second process
holding the DuckDB file, a patched connect, a patched write that raises.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import pipeline.ingest.write as W
from pipeline import warehouse
from pipeline.assets.raw import run_checks
from pipeline.ingest.load import LoadError, load_seeds
from tests.helpers import REPO, SEED_FILE, make_seeds_dir, query, query_dicts
from tests.loader_pause import PAUSED_MARKER, paused_insert


def _filings(symbol: str, count: int, keys: int = 40) -> list[dict]:
    """`count` synthetic FY filings of `keys` keys each (symbol, date, period included)."""
    out = []
    for i in range(count):
        rec: dict = {"symbol": symbol, "date": f"{1900 + i}-12-31", "period": "FY"}
        for k in range(keys - 3):
            rec[f"concept{k:03d}"] = i * 1000 + k if k % 4 else f"text {i} {k}"
        out.append(rec)
    return out


def _state(db: Path) -> tuple:
    """Everything a load writes, for before/after comparisons."""
    return (
        query(db, "select * from raw.filings order by filing_id"),
        query(db, "select * from raw.facts order by all"),
        query(db, "select load_id, source_file, sha256, status, filings, facts, rejects "
                  "from raw.load_log order by load_id"),
        query(db, "select * from raw.rejects order by all"),
    )


def _paused_loader(seeds: Path, db: Path, after: int) -> subprocess.Popen[str]:
    """The loader in a subprocess, paused inside the transaction after `after` filings."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.loader_pause", str(after), str(seeds), str(db)],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


# --------------------------------------------------------------------------- crash safety

def test_sigkill_mid_file_leaves_warehouse_as_before(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    before = _state(db)
    (seeds / "BIG.json").write_text(json.dumps(_filings("BIG", 30)))

    proc = _paused_loader(seeds, db, 12)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the loader pauses (deterministic)
        assert line.startswith(PAUSED_MARKER), (line, proc.stderr.read() if proc.stderr
                                                  else "")
        assert "BIG.json after 12 filings" in line
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # 12 filings of BIG.json were inserted inside the open transaction: none survive
    assert _state(db) == before
    assert query(db, "select count(*) from raw.filings where source_file = 'BIG.json'") == [(0,)]

    again = load_seeds(seeds, db)
    assert (again.files_loaded, again.files_skipped, again.new_filings) == (1, 1, 30)
    assert query(db, "select count(*), sum(fact_count) from raw.filings "
                     "where source_file = 'BIG.json'") == [(30, 30 * 40)]
    assert all(r.passed for r in run_checks(db) if r.check_name != "raw_rejects_present")


def test_pause_hook_does_not_change_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """With the hook set above the filing count nothing pauses, and rows are the same."""
    seeds = make_seeds_dir(tmp_path)
    real = W.insert_filings
    monkeypatch.setattr(W, "insert_filings", paused_insert(1000))
    load_seeds(seeds, tmp_path / "a.duckdb")
    monkeypatch.setattr(W, "insert_filings", real)
    load_seeds(seeds, tmp_path / "b.duckdb")
    sql = "select filing_id, concept, value_number, value_text from raw.facts order by all"
    assert query(tmp_path / "a.duckdb", sql) == query(tmp_path / "b.duckdb", sql)


# --------------------------------------------------------------------------- hostile names

HOSTILE = [
    "it's",
    'say "hi"',
    "a; DROP TABLE raw.facts; --",
    "'); DELETE FROM raw.filings; --",
    "../../etc/passwd",
    "..",
    "a/b\\c",
    "line\nbreak\r\ttab",
    "\u202etxt.exe",
    "🚀 ünïcödé",
    "x" * 10_000,
]


def test_hostile_symbols_and_concepts_stored_verbatim(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    records = []
    for i, name in enumerate(HOSTILE):
        rec = {"symbol": name, "date": f"{2000 + i}-12-31", "period": "FY", "assets": i + 1}
        rec[name.lower()] = name  # as a concept key too
        records.append(rec)
    (seeds / "hostile.json").write_text(json.dumps(records))
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert (summary.filings, summary.rejects) == (len(HOSTILE), 0)
    for i, name in enumerate(HOSTILE):
        assert query(db, "select symbol, record_index from raw.filings where symbol = ?",
                     [name]) == [(name, i)]
        assert query(db, "select value_text from raw.facts x join raw.filings f "
                         "using (filing_id) where f.symbol = ? and x.concept = ?",
                     [name, name.lower()]) == [(name,)]
    assert query(db, "select count(*) from raw.facts") == [(len(HOSTILE) * 5,)]
    assert query(db, "select count(*) from information_schema.tables where "
                     "table_schema = 'raw'") == [(4,)]


HOSTILE_FILES = [
    "it's a \"file\".json",
    "semi;colon; DROP TABLE raw.facts;.json",
    "new\nline.json",
    "...json",
    "..json",
    "-rf .json",
    "$(touch pwned).json",
    "é" * 100 + ".json",
]


def test_hostile_file_names(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i, name in enumerate(HOSTILE_FILES):
        (seeds / name).write_text(json.dumps(_filings(f"S{i}", 1, keys=5)))
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(_filings("OUT", 1, keys=5)))
    (seeds / "link.json").symlink_to(outside)
    (seeds / "dir.json").mkdir()
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert summary.files_seen == len(HOSTILE_FILES) + 2
    for name in HOSTILE_FILES:
        assert query(db, "select status, filings from raw.load_log where source_file = ?",
                     [name]) == [("loaded", 1)], name
    rejected = dict(query(db, "select source_file, reason from raw.rejects"))
    assert set(rejected) == {"link.json", "dir.json"}
    assert "outside SEEDS_DIR" in rejected["link.json"]
    assert "not a regular file" in rejected["dir.json"]
    assert query(db, "select count(*) from raw.filings where symbol = 'OUT'") == [(0,)]
    assert not (REPO / "pwned").exists() and not (tmp_path / "pwned").exists()


# --------------------------------------------------------------------------- faults

HOLD_SCRIPT = (
    "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); "
    "print('HOLDING', flush=True); time.sleep(120)"
)


def test_warehouse_locked_by_another_process(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    before = _state(db)
    (seeds / "BIG.json").write_text(json.dumps(_filings("BIG", 3)))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("HOLDING")
        with pytest.raises(LoadError) as error:
            load_seeds(seeds, db)
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout:
            holder.stdout.close()
    message = str(error.value)
    assert str(db) in message
    assert "locked" in message and f"process {holder.pid}" in message
    assert "Close that program" in message
    assert _state(db) == before
    assert load_seeds(seeds, db).new_filings == 3  # once released, the load goes through


def test_missing_seeds_dir(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with pytest.raises(LoadError, match="SEEDS_DIR .*nope.* does not exist: set SEEDS_DIR"):
        load_seeds(tmp_path / "nope", db)
    assert not db.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(LoadError, match="is not a directory"):
        load_seeds(tmp_path / "file", db)


@pytest.mark.parametrize("fault", [
    PermissionError(13, "Permission denied"),
    duckdb.IOException('IO Error: Cannot open file "w.duckdb": Read-only file system'),
])
def test_unwritable_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              fault: Exception) -> None:
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "warehouse" / "w.duckdb"

    def refuse(*args: object, **kwargs: object) -> None:
        raise fault

    monkeypatch.setattr(warehouse, "connect", refuse)
    with pytest.raises(LoadError) as error:
        load_seeds(seeds, db)
    message = str(error.value)
    assert str(db) in message and "writable" in message and "WAREHOUSE_DB" in message
    assert not db.exists()


def test_write_error_mid_load_leaves_no_partial_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in ("a", "b", "c"):
        (seeds / f"{name}.json").write_text(json.dumps(_filings(name.upper(), 4)))
    db = tmp_path / "w.duckdb"
    real = W.insert_filings
    calls: list[str] = []

    def flaky(con: duckdb.DuckDBPyConnection, items: list) -> None:
        real(con, items)  # rows of every file in the batch are written first...
        names = [f.result.source_file for f, positions in items if positions]
        calls.append(",".join(names))
        if "b.json" in names:  # ...then the disk "fails" in the middle of the load
            raise duckdb.IOException("IO Error: No space left on device")

    monkeypatch.setattr(W, "insert_filings", flaky)
    with pytest.raises(LoadError) as error:
        load_seeds(seeds, db)
    message = str(error.value)
    assert message.count("b.json") == 1 and "No space left on device" in message
    assert "no partial rows" in message and str(db) in message
    assert calls == ["a.json,b.json,c.json", "a.json", "b.json", "c.json"]  # batch, retries
    assert query(db, "select source_file, count(*) from raw.filings group by 1 order by 1") == [
        ("a.json", 4), ("c.json", 4)]
    assert query(db, "select source_file from raw.load_log order by 1") == [("a.json",),
                                                                           ("c.json",)]
    assert query(db, "select count(*) from raw.facts") == [(8 * 40,)]
    assert all(r.passed for r in run_checks(db) if r.check_name != "raw_rejects_present")

    monkeypatch.setattr(W, "insert_filings", real)
    again = load_seeds(seeds, db)
    assert (again.files_loaded, again.files_skipped, again.new_filings) == (1, 2, 4)
    assert query(db, "select count(*) from raw.filings") == [(12,)]


def test_bad_file_mid_batch_does_not_stop_the_others(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    (seeds / "A_bad.json").write_text("{not json")
    (seeds / "B_good.json").write_text(json.dumps(_filings("B", 2)))
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.files_rejected, summary.filings) == (2, 1, 7)


# --------------------------------------------------------------------------- large file

LARGE_BYTES = 200 * 1024 * 1024
MEMORY_BOUND = 4 * 1024**3
MEASURE_SCRIPT = (
    "import resource, sys, time; from pathlib import Path; "
    "from pipeline.ingest.load import load_seeds; t = time.perf_counter(); "
    "s = load_seeds(Path(sys.argv[1]), Path(sys.argv[2])); "
    "print(s.files_loaded, s.filings, s.facts, s.rejects, "
    "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "
    "round(time.perf_counter() - t, 1), flush=True)"
)


def _write_large(path: Path, target: int) -> tuple[int, int]:
    """A single flat file of seed-like filings, `target` bytes or a little more.

    About 15-20 s here (4.1 M facts, peak RSS ~1.5 GB), so it runs by default."""
    template = json.loads(SEED_FILE.read_text())
    size = 0
    filings = facts = 0
    with path.open("w") as out:
        out.write("[")
        year = 0
        while size < target:
            for rec in template:
                year += 1
                rec = dict(rec, symbol=f"L{year // 5000}",
                           date=f"{1000 + year % 5000:04d}-12-31",
                           documentfiscalyearfocus=1000 + year % 5000)
                text = ("," if filings else "") + json.dumps(rec)
                out.write(text)
                size += len(text)
                filings += 1
                facts += len(rec)
        out.write("]")
    return filings, facts


def test_large_single_file_within_memory_bound(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    filings, facts = _write_large(seeds / "large.json", LARGE_BYTES)
    db = tmp_path / "w.duckdb"
    proc = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT, str(seeds), str(db)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    loaded, got_filings, got_facts, rejects, peak, seconds = proc.stdout.splitlines()[-1].split()
    assert (int(loaded), int(got_filings), int(got_facts), int(rejects)) == (
        1, filings, facts, 0)
    assert int(peak) <= MEMORY_BOUND, f"peak RSS {int(peak) / 1e9:.2f} GB"
    print(f"200 MB file: {facts} facts in {seconds} s, peak RSS {int(peak) / 1e9:.2f} GB")
    rows = query_dicts(db, "select count(*) as n, count(distinct filing_id) as f "
                           "from raw.facts")
    assert rows == [{"n": facts, "f": filings}]


def test_timing_is_reported(tmp_path: Path) -> None:
    summary = load_seeds(make_seeds_dir(tmp_path), tmp_path / "w.duckdb")
    assert set(summary.timings) >= {"parse", "write", "read_cpu", "write_cpu", "wait"}
    # real durations: the seed's 5 filings take some time to parse and write, and each
    # part (main thread, writer thread) fits inside the whole load's wall time
    assert 0 < summary.timings["parse"] <= summary.seconds
    assert 0 < summary.timings["write"] <= summary.seconds
    assert 0 < summary.seconds < 60
