"""Parallel parsing (LOADER_WORKERS): the same rows whatever the worker count.

Worker processes parse JSON files and bulk companyfacts.zip members; threads split a
data-set zip's num rows by ranges of submissions. Both are forced on small inputs here
(the size thresholds set to 0) and compared with the in-process load, row for row.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest import fsds, workers
from pipeline.ingest.load import load_seeds
from tests.helpers import TEST_DATA, query
from tests.test_fsds import NUM_HEADER, SYN, SYN_NUM, SYN_SUB, make_zip

# every raw table, without the columns that differ between any two runs (timestamps)
TABLES = {
    "raw.filings": "filing_id, source, source_file, record_index, symbol, cik, company_name, "
                   "period_end, fiscal_year, fiscal_period, document_type, is_amendment, "
                   "currency, filed_date, accession, period_start, fact_count, load_id, "
                   "last_seen_load_id",
    "raw.facts": "filing_id, concept, value_number, value_text, unit, period_start, "
                 "period_end, qtrs, coreg, segments, taxonomy_version",
    "raw.rejects": "load_id, source_file, record_index, concept, reason, payload, kind",
    "raw.load_log": "load_id, source_file, sha256, status, filings, facts, rejects, records, "
                    "keys, new_filings, new_facts",
}
SECOND_SUB = ("0009990002-09-000001\t9990002\tSECOND FILER INC\t3571\t10-K\t20090630\t2009\t"
              "FY\t20090820\t0")


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: query(db, f"select {c} from {t} order by all") for t, c in TABLES.items()}  # noqa: S608


@pytest.fixture(scope="module")
def mixed_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every input shape: vendor JSON (good and bad), SEC company facts, a bulk
    companyfacts.zip (one member repeating a loose file's filings), a data-set zip."""
    seeds = tmp_path_factory.mktemp("mixed") / "seeds"
    seeds.mkdir()
    for path in sorted((TEST_DATA / "bad_inputs").glob("*.json")):
        shutil.copy(path, seeds / path.name)
    shutil.copy(TEST_DATA / "companies" / "ACMW_nested.json", seeds / "ACMW_nested.json")
    for name in ("LPA_companyfacts_ifrs.json", "JPM_fsds_2009q2.json", "SNOW_companyfacts.json"):
        shutil.copy(TEST_DATA / "sec" / name, seeds / name)
    with zipfile.ZipFile(seeds / "companyfacts.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("BAC_fsds_2009q2.json", "LPA_companyfacts_ifrs.json",
                     "TSM_CIK0001046179_ifrs.json"):
            zf.write(TEST_DATA / "sec" / name, name)
        zf.writestr("broken.json", b'{"cik": 1, "facts": ')
    make_zip(seeds / "synthetic_2009q3.zip", SYN_SUB, SYN_NUM)
    return seeds


def test_workers_load_the_same_rows_as_in_process(
        mixed_seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_WORKERS", "1")
    single = load_seeds(mixed_seeds, tmp_path / "one.duckdb")
    monkeypatch.setenv("LOADER_WORKERS", "2")
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "CHUNK_BYTES", 200_000)  # several chunks in flight
    parallel = load_seeds(mixed_seeds, tmp_path / "two.duckdb")
    assert single.timings["workers"] == 1.0 and parallel.timings["workers"] == 2.0
    assert parallel.timings["worker_cpu"] > 0  # the parsing happened in the workers
    one, two = _rows(tmp_path / "one.duckdb"), _rows(tmp_path / "two.duckdb")
    for table in TABLES:
        assert one[table] == two[table], table
    # the bulk zip's LPA member repeats the loose LPA file: no second version, in
    # either mode; the broken member is one rejected entry
    files = {r[1]: r[3] for r in one["raw.load_log"]}
    assert files["companyfacts.zip/broken.json"] == "rejected"
    assert files["companyfacts.zip/LPA_companyfacts_ifrs.json"] == "loaded"
    lpa = [r for r in one["raw.load_log"] if r[1].endswith("LPA_companyfacts_ifrs.json")]
    assert [(r[1], r[9]) for r in lpa] == [
        ("LPA_companyfacts_ifrs.json", lpa[0][4]),  # every filing new the first time
        ("companyfacts.zip/LPA_companyfacts_ifrs.json", 0)]
    assert (single.files_seen, single.filings, single.facts, single.rejects) == (
        parallel.files_seen, parallel.filings, parallel.facts, parallel.rejects)


def test_second_parallel_run_skips_everything(
        mixed_seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_WORKERS", "2")
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    db = tmp_path / "w.duckdb"
    first = load_seeds(mixed_seeds, db)
    again = load_seeds(mixed_seeds, db)
    assert again.new_filings == 0 and again.new_facts == 0
    assert first.files_rejected == 6 and first.timings["workers"] == 2.0
    assert again.files_skipped == first.files_seen == 29  # rejected files too: same sha


def _parsed(data: bytes) -> tuple[Any, ...]:
    p = fsds.parse_fsds(data, "q.zip")
    return ([(f.record_index, f.accession, f.content_digest, f.fact_count, f.fiscal_year,
              f.fiscal_period, f.currency) for f in p.filings],
            [(r.record_index, r.concept, r.reason, r.payload, r.is_filing) for r in p.rejects],
            p.records, p.keys, p.facts_table.combine_chunks())


def test_fsds_parts_on_threads_give_the_one_part_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two submissions, rows interleaved in num.txt (as in the real zips), duplicates and
    every reject kind: split in parts by submission, the result is identical."""
    second = SECOND_SUB.split("\t")[0]
    num = [*SYN_NUM]
    for k, row in enumerate(SYN_NUM[:8]):  # the second filer's copy of the good rows
        fields = row.split("\t")
        fields[0] = second
        fields[2] = second if fields[2] == SYN else fields[2]
        num.insert(2 * k + 1, "\t".join(fields))
    num.append(f"{second}\tAssets\tus-gaap/2009\t20090630\t0\tUSD\t\t\t1001.0000\t")  # dup
    num.append(f"{second}\t\tus-gaap/2009\t20090630\t0\tUSD\t\t\t1.0000\t")  # no tag
    data = make_zip(tmp_path / "q.zip", [*SYN_SUB, SECOND_SUB], num,
                    header=NUM_HEADER).read_bytes()
    monkeypatch.setenv("LOADER_WORKERS", "1")
    one = _parsed(data)
    monkeypatch.setenv("LOADER_WORKERS", "3")
    monkeypatch.setattr(fsds, "PART_MIN_ROWS", 0)
    parts = fsds._parts(fsds.read_member(zipfile.ZipFile(tmp_path / "q.zip"), "num.txt",
                                         fsds.NUM_REQUIRED, fsds.NUM_OPTIONAL).table,
                        _subs(tmp_path / "q.zip"))
    assert len(parts) == 2  # one per submission (the unknown adsh goes with the first)
    three = _parsed(data)
    assert one[:4] == three[:4]
    assert one[4].equals(three[4])
    # 22 num rows = 8 + 8 facts (the second filer's duplicate Assets replaces its
    # first row); rejects: 4 of the synthetic rows, the duplicate, the row without tag
    assert (one[2], one[3], one[4].num_rows, len(one[1])) == (2, 22, 16, 6)
    reasons = [r[2].split(": ", 1)[1] for r in one[1]]
    assert reasons.count("fact without tag or version") == 1
    assert sum(r.startswith("duplicate fact") for r in reasons) == 1


def _subs(path: Path) -> Any:
    import pyarrow as pa

    sub = fsds.read_member(zipfile.ZipFile(path), "sub.txt", fsds.SUB_COLUMNS).table
    return pa.table({"adsh": sub.column("adsh"),
                     "record_index": pa.array(range(sub.num_rows), pa.int32()),
                     "period_end": pa.nulls(sub.num_rows, pa.date32())})


def test_workers_do_not_re_run_the_main_module(tmp_path: Path, mixed_seeds: Path) -> None:
    """multiprocessing would import the parent's `__main__` in every worker (under `make
    run` that is Dagster and the whole pipeline: seconds per worker); it must run once."""
    import subprocess
    import sys

    marker = tmp_path / "imports.txt"
    (tmp_path / "main_probe.py").write_text(
        "import os, sys\n"
        f"open({str(marker)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "if __name__ == '__main__':\n"
        "    from pipeline.ingest import workers\n"
        "    from pipeline.ingest.load import load_seeds\n"
        "    workers.PARALLEL_MIN_BYTES = 0\n"
        "    s = load_seeds(__import__('pathlib').Path(sys.argv[1]), "
        "__import__('pathlib').Path(sys.argv[2]))\n"
        "    print(s.timings['workers'], s.facts)\n")
    env = {**__import__("os").environ, "LOADER_WORKERS": "2",
           "PYTHONPATH": f"{tmp_path}:{Path(__file__).resolve().parents[1]}"}
    out = subprocess.run([sys.executable, "-m", "main_probe", str(mixed_seeds),
                          str(tmp_path / "w.duckdb")], cwd=tmp_path, env=env, text=True,
                         capture_output=True, check=True).stdout.split()
    assert out[0] == "2.0" and int(out[1]) > 0
    assert len(marker.read_text().split()) == 1


def test_real_quarter_in_parts_is_the_one_part_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real 2009q3 zip (num rows of 435 submissions interleaved, 10 duplicate rows)
    read in parts on threads: the same filings, digests, rejects and facts."""
    data = (TEST_DATA / "sec_fsds" / "2009q3.zip").read_bytes()
    monkeypatch.setenv("LOADER_WORKERS", "1")
    one = _parsed(data)
    monkeypatch.setenv("LOADER_WORKERS", "2")
    monkeypatch.setattr(fsds, "PART_MIN_ROWS", 0)
    two = _parsed(data)
    assert one[:4] == two[:4]
    assert one[4].equals(two[4])
    assert (len(one[0]), one[3], one[4].num_rows, len(one[1])) == (435, 126_650, 126_640, 10)
