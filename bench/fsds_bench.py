"""FSDS benchmark: a generated real-size quarterly data-set zip, loaded and timed.

    .venv/bin/python bench/fsds_bench.py [--submissions 6500] [--rows 3000000] [--keep]
    .venv/bin/python bench/fsds_bench.py --companyfacts 2000   # bulk companyfacts.zip

What it measures (printed and written as JSON beside the zip):
- `parse_floor_s`: just reading num.txt out of the zip with pyarrow.csv into byte
  columns (inflate + split), the least any reader of this file can do;
- `reader_s`: `fsds.parse_fsds` (zip -> ParsedFile with the Arrow facts table);
- `load_s`: `load.load_seeds` into a fresh warehouse (reader + hashing + DuckDB insert),
  with `rows_per_s` = num rows / load_s;
- `peak_rss_gb`: the process's peak resident memory (ru_maxrss) after the load.

The generated quarter has the real layout: sub.txt with the 36 published columns,
num.txt with adsh, tag, version, ddate, qtrs, uom, segments, coreg, value, footnote,
about 13% segment rows, 3% co-registrant rows, 13% company-specific tags (version =
adsh), us-gaap/dei versions, instants and 1-4 quarter durations, plus small pre.txt and
tag.txt members. Deterministic (seeded), written once to a cache folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SUB_HEADER = ("adsh\tcik\tname\tsic\tcountryba\tstprba\tcityba\tzipba\tbas1\tbas2\tbaph\t"
              "countryma\tstprma\tcityma\tzipma\tmas1\tmas2\tcountryinc\tstprinc\tein\t"
              "former\tchanged\tafs\twksi\tfye\tform\tperiod\tfy\tfp\tfiled\taccepted\t"
              "prevrpt\tdetail\tinstance\tnciks\taciks")
NUM_HEADER = "adsh\ttag\tversion\tddate\tqtrs\tuom\tsegments\tcoreg\tvalue\tfootnote"
WORDS = ("Assets Liabilities Revenues Cost Income Expense Cash Equity Debt Interest Tax "
         "Deferred Current Noncurrent Operating Investing Financing Net Gross Accrued "
         "Payable Receivable Inventory Property Plant Equipment Goodwill Intangible Loans "
         "Deposits Premiums Claims Reserves Securities Derivative Fair Value Other "
         "Comprehensive Retained Earnings Shares Dividends Amortization Depreciation").split()


def _tags(rng: random.Random, n: int) -> list[str]:
    tags: set[str] = set()
    while len(tags) < n:
        tags.add("".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))))
    return sorted(tags)


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))


def generate(path: Path, submissions: int = 6500, rows: int = 3_000_000, seed: int = 15) -> None:
    """Write a data-set zip with `submissions` sub rows and exactly `rows` num rows."""
    rng = random.Random(seed)
    standard = _tags(rng, 3000)
    per_filing = [rows // submissions + (1 if i < rows % submissions else 0)
                  for i in range(submissions)]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        sub_lines = [SUB_HEADER]
        filings = []
        for i in range(submissions):
            adsh = f"{1000000 + i:010d}-09-{i:06d}"
            cik = str(100000 + i)
            quarter = rng.choice((1, 2, 2, 2, 3, 4))
            form = "10-K" if quarter == 4 else "10-Q"
            if rng.random() < 0.1:
                form += "/A"
            period = _month_end(2009, 3 * quarter)
            fp = "FY" if quarter == 4 else f"Q{quarter}"
            name = f"GENERATED COMPANY {i} INC" if i % 50 else f"SOCIÉTÉ GÉNÉRÉE {i} SA"
            sub_lines.append("\t".join((
                adsh, cik, name, str(rng.choice((6021, 6331, 3571, 2834, 4911))), "US", "NY",
                "NEW YORK", "10001", "1 MAIN ST", "", "2125550100", "US", "NY", "NEW YORK",
                "10001", "1 MAIN ST", "", "US", "DE", "123456789", "", "", "1-LAF", "0",
                "1231", form, period.strftime("%Y%m%d"), "2009", fp, "20090807",
                "2009-08-07 09:10:00.0", "0", "0", f"gen{i}-20090630.xml", "1", "")))
            filings.append((adsh, period, quarter))
        zf.writestr("sub.txt", ("\n".join(sub_lines) + "\n").encode("latin-1"))
        del sub_lines

        with zf.open("num.txt", "w", force_zip64=True) as out:
            out.write((NUM_HEADER + "\n").encode())
            for (adsh, period, quarter), n in zip(filings, per_filing, strict=True):
                out.write(_num_rows(rng, standard, adsh, period, quarter, n).encode("latin-1"))
        zf.writestr("pre.txt", "adsh\treport\tline\tstmt\tinpth\trfile\ttag\tversion\t"
                    "plabel\tnegating\n")
        zf.writestr("tag.txt", "tag\tversion\tcustom\tabstract\tdatatype\tiord\tcrdr\t"
                    "tlabel\tdoc\n")
    os.replace(tmp, path)


def _num_rows(rng: random.Random, standard: list[str], adsh: str, period: date,
              quarter: int, n: int) -> str:
    prior = _month_end(period.year - 1, period.month)
    year_end = _month_end(2008, 12)
    if quarter in (2, 3):  # 10-Q: the quarter and the year to date, this year and last
        longer = [(period, quarter), (prior, quarter)]
    elif quarter == 4:  # 10-K: the year, this year and last
        longer = [(period, 4), (prior, 4)]
    else:  # Q1: the quarter is the year to date; the last two fiscal years' durations
        longer = [(year_end, 4), (_month_end(2007, 12), 4)]
    contexts = [(period, 0), (year_end, 0), (period, 1), (prior, 1), *longer]
    ymd = [(d.strftime("%Y%m%d"), str(q)) for d, q in contexts]
    offset = rng.randrange(len(standard))
    lines = []
    for k in range(n):
        tag_index, ctx = divmod(k, len(ymd))
        ddate, qtrs = ymd[ctx]
        roll = rng.random()
        if roll < 0.13:
            tag, version = f"CompanySpecific{tag_index}", adsh
        else:
            tag = standard[(offset + tag_index) % len(standard)]
            version = "dei/2009" if roll > 0.995 else "us-gaap/2009"
        segments = f"BusinessSegments=Segment{k % 7};" if rng.random() < 0.13 else ""
        coreg = "GENERATED SUBSIDIARY LLC" if rng.random() < 0.03 else ""
        uom = "shares" if roll > 0.97 else "USD"
        value = f"{rng.randrange(-10**9, 10**11) * 1000}.0000"
        lines.append(f"{adsh}\t{tag}\t{version}\t{ddate}\t{qtrs}\t{uom}\t{segments}\t{coreg}\t"
                     f"{value}\t\n")
    return "".join(lines)


def _cpu() -> float:
    """CPU seconds of this process, all threads (comparable when other work loads the
    machine, unlike wall time)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _parse_floor(path: Path) -> tuple[float, int]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    clock = time.perf_counter()
    with zipfile.ZipFile(path) as zf, zf.open("num.txt") as fh:
        table = pacsv.read_csv(  # bytes, as the reader reads them (no transcoding)
            fh, read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={
                c: pa.binary() for c in NUM_HEADER.split("\t")}))
    return time.perf_counter() - clock, table.num_rows


def generate_companyfacts(path: Path, companies: int) -> None:
    """A bulk companyfacts.zip of `companies` members: the repository's real company-facts
    files (tests/data/sec) under new CIKs, nine small IFRS filers for one large one."""
    sources = sorted((ROOT / "tests" / "data" / "sec").glob("*.json"),
                     key=lambda p: p.stat().st_size)
    bodies = [p.read_bytes() for p in sources]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for i in range(companies):
            body = bodies[-1] if i % 10 == 9 else bodies[0]
            cik = 8_000_000 + i
            start = body.index(b'"cik"')
            end = body.index(b",", start)
            zf.writestr(f"CIK{cik:010d}.json", body[:start] + f'"cik": {cik}'.encode()
                        + body[end:])
    os.replace(tmp, path)


def bench_companyfacts(cache: Path, companies: int) -> dict[str, object]:
    """Bulk companyfacts.zip: load time against the parse floor (inflate + orjson)."""
    import orjson

    from pipeline.ingest.load import load_seeds

    zpath = cache / f"companyfacts_{companies}.zip"
    if not zpath.exists():
        generate_companyfacts(zpath, companies)
    cpu, clock = _cpu(), time.perf_counter()
    with zipfile.ZipFile(zpath) as zf:
        for name in zf.namelist():
            orjson.loads(zf.read(name))
    floor_s, floor_cpu_s = time.perf_counter() - clock, _cpu() - cpu
    work = Path(tempfile.mkdtemp(prefix="companyfacts_bench_"))
    (work / "seeds").mkdir()
    shutil.copy(zpath, work / "seeds" / "companyfacts.zip")
    load_before = os.getloadavg()[0]
    cpu, clock = _cpu(), time.perf_counter()
    summary = load_seeds(work / "seeds", work / "bench.duckdb")
    load_s, load_cpu_s = time.perf_counter() - clock, _cpu() - cpu
    shutil.rmtree(work)
    worker_cpu = summary.timings.get("worker_cpu", 0.0)
    return {"companies": companies, "zip_mb": round(zpath.stat().st_size / 1e6, 1),
            "facts": summary.facts, "filings": summary.filings,
            "parse_floor_s": round(floor_s, 2), "parse_floor_cpu_s": round(floor_cpu_s, 2),
            "load_s": round(load_s, 2), "load_cpu_s": round(load_cpu_s, 2),
            "workers": int(summary.timings.get("workers", 1)),
            "worker_cpu_s": round(worker_cpu, 2),
            "load_total_cpu_s": round(load_cpu_s + worker_cpu, 2),
            "load_over_floor": round(load_s / floor_s, 2),
            "load_avg_1m_before": round(load_before, 2),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=6500)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "fsds_bench")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse file")
    parser.add_argument("--companyfacts", type=int, default=0, metavar="N",
                        help="instead: a bulk companyfacts.zip of N companies (issue: 2000)")
    args = parser.parse_args(argv)
    if args.companyfacts:
        args.cache.mkdir(parents=True, exist_ok=True)
        print(json.dumps(bench_companyfacts(args.cache, args.companyfacts), indent=2))
        return 0

    import pyarrow as pa

    from pipeline.ingest import fsds
    from pipeline.ingest.cores import arrow_memory_pool, worker_count

    pa.set_memory_pool(arrow_memory_pool())  # as the loader does (cores.py), every step
    from pipeline.ingest.load import load_seeds

    args.cache.mkdir(parents=True, exist_ok=True)
    zpath = args.cache / f"fsds_{args.submissions}_{args.rows}.zip"
    if not zpath.exists():
        clock = time.perf_counter()
        generate(zpath, args.submissions, args.rows)
        print(f"generated {zpath} ({zpath.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - clock:.1f} s")
    cpu = _cpu()
    floor_s, floor_rows = _parse_floor(zpath)
    floor_cpu_s = _cpu() - cpu
    data = zpath.read_bytes()
    cpu = _cpu()
    clock = time.perf_counter()
    parsed = fsds.parse_fsds(data, zpath.name)
    reader_s = time.perf_counter() - clock
    reader_cpu_s = _cpu() - cpu
    facts = sum(f.fact_count for f in parsed.filings)
    del parsed, data

    work = Path(tempfile.mkdtemp(prefix="fsds_bench_"))
    seeds = work / "seeds"
    seeds.mkdir()
    shutil.copy(zpath, seeds / zpath.name)
    db = work / "bench.duckdb"
    load_before = os.getloadavg()[0]
    cpu = _cpu()
    clock = time.perf_counter()
    summary = load_seeds(seeds, db)
    load_s = time.perf_counter() - clock
    load_cpu_s = _cpu() - cpu
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    result = {
        "submissions": args.submissions, "num_rows": floor_rows, "facts": facts,
        "zip_mb": round(zpath.stat().st_size / 1e6, 1),
        "parse_floor_s": round(floor_s, 2), "parse_floor_cpu_s": round(floor_cpu_s, 2),
        "reader_s": round(reader_s, 2), "reader_cpu_s": round(reader_cpu_s, 2),
        "load_s": round(load_s, 2), "rows_per_s": round(floor_rows / load_s),
        "load_cpu_s": round(load_cpu_s, 2), "threads": worker_count(),
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "floor_rows_per_s": round(floor_rows / floor_s),
        "peak_rss_gb": round(rss_gb, 2), "filings_loaded": summary.new_filings,
        "facts_loaded": summary.new_facts, "timings": {
            k: round(v, 2) for k, v in summary.timings.items()},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    (args.cache / f"result_{args.submissions}_{args.rows}.json").write_text(
        json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(work)
    else:
        print(f"warehouse kept: {db}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
