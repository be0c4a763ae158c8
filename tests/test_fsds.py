"""SEC Financial Statement Data Sets (FSDS): the real 2009q3 zip and small synthetic zips.

One shared warehouse (loader + dbt build) holds the real quarter and a synthetic quarter
whose edge cases are known by construction (latin-1 text, a segment-only total, a
co-registrant fact, rejects). Tests that write build their own loader-only warehouse.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.ingest import fsds
from pipeline.ingest.load import load_seeds
from tests.helpers import TEST_DATA, build_warehouse, query

REAL_ZIP = TEST_DATA / "sec_fsds" / "2009q3.zip"
SUB_HEADER = "adsh\tcik\tname\tsic\tform\tperiod\tfy\tfp\tfiled\tprevrpt"
NUM_HEADER = "adsh\ttag\tversion\tddate\tqtrs\tuom\tsegments\tcoreg\tvalue\tfootnote"
# synthetic filer: CIK 9990001 (not in the seed: symbol CIK0009990001), a Q2 10-Q
SYN = "0009990001-09-000001"
SYN_NAME = "SOCIÉTÉ GÉNÉRALE D'ESSAI S.A."
SYN_SUB = [f"{SYN}\t9990001\t{SYN_NAME}\t6021\t10-Q\t20090630\t2009\tQ2\t20090814\t0"]
SYN_NUM = [
    # consolidated total assets, and the same concept for a co-registrant (not used)
    f"{SYN}\tAssets\tus-gaap/2009\t20090630\t0\tUSD\t\t\t1000.0000\t",
    f"{SYN}\tAssets\tus-gaap/2009\t20090630\t0\tUSD\t\tFILIALE ÉNERGIE SARL\t5000.0000\t",
    # liabilities only for a co-registrant: the filer's own stays NULL
    f"{SYN}\tLiabilities\tus-gaap/2009\t20090630\t0\tUSD\t\tFILIALE ÉNERGIE SARL\t700.0000\t",
    # revenues only under segment members (a segment-only total): NULL in the statements
    f"{SYN}\tRevenues\tus-gaap/2009\t20090630\t1\tUSD\tRégion=Île-de-France;\t\t300.0000\t",
    f"{SYN}\tRevenues\tus-gaap/2009\t20090630\t1\tUSD\tRégion=Provence;\t\t200.0000\t",
    # a consolidated quarterly net income, and its six-month year-to-date value
    f"{SYN}\tNetIncomeLoss\tus-gaap/2009\t20090630\t1\tUSD\t\t\t40.0000\t",
    f"{SYN}\tNetIncomeLoss\tus-gaap/2009\t20090630\t2\tUSD\t\t\t90.0000\t",
    # a company-specific tag (version = adsh)
    f"{SYN}\tFraisDeGestion\t{SYN}\t20090630\t1\tUSD\t\t\t12.5000\t",
    # rejects: unknown submission, bad ddate, beyond DECIMAL(38,10), wrong field count
    "0009990001-09-999999\tAssets\tus-gaap/2009\t20090630\t0\tUSD\t\t\t1.0000\t",
    f"{SYN}\tCash\tus-gaap/2009\t2009063\t0\tUSD\t\t\t1.0000\t",
    f"{SYN}\tGoodwill\tus-gaap/2009\t20090630\t0\tUSD\t\t\t{'9' * 30}.0000\t",
    f"{SYN}\tInventoryNet\tus-gaap/2009\t20090630",
]
# a filer the sec_companies seed classifies (SNOW, SIC 7372) declaring another SIC code in
# sub.txt: the filer's own code wins over the seed
OVR = "0001640147-09-000001"
OVR_SUB = [f"{OVR}\t1640147\tSNOWFLAKE TEST\t6021\t10-Q\t20090630\t2009\tQ2\t20090814\t0"]
OVR_NUM = [f"{OVR}\tAssets\tus-gaap/2009\t20090630\t0\tUSD\t\t\t1.0000\t"]


def make_zip(path: Path, sub: list[str], num: list[str], *, header: str = NUM_HEADER) -> Path:
    """A data-set zip as the SEC publishes it: tab-separated, latin-1, no quoting."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sub.txt", "\n".join([SUB_HEADER, *sub, ""]).encode("latin-1"))
        zf.writestr("num.txt", "\n".join([header, *num, ""]).encode("latin-1"))
        zf.writestr("tag.txt", b"tag\tversion\tcustom\n")
    return path


@pytest.fixture(scope="module")
def fsds_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real 2009q3 zip and the synthetic quarter, loaded and built with dbt once."""
    root = tmp_path_factory.mktemp("fsds")
    seeds = root / "seeds"
    seeds.mkdir()
    shutil.copy(REAL_ZIP, seeds / "2009q3.zip")
    make_zip(seeds / "synthetic_2009q3.zip", SYN_SUB, SYN_NUM)
    make_zip(seeds / "sic_2009q3.zip", OVR_SUB, OVR_NUM)
    return build_warehouse(seeds, root / "financials.duckdb")


def _num_rows(path: Path) -> int:
    """num.txt data lines counted straight from the zip (independent of the reader)."""
    with zipfile.ZipFile(path) as zf:
        return zf.read("num.txt").count(b"\n") - 1


# --------------------------------------------------------------------------- real quarter

def test_real_quarter_loads_every_submission_and_accounts_for_every_num_row(
        fsds_warehouse: Path) -> None:
    assert _num_rows(REAL_ZIP) == 126_650
    log = query(fsds_warehouse, "select status, records, keys, filings, facts, rejects "
                "from raw.load_log where source_file = '2009q3.zip'")
    assert log == [("loaded", 435, 126_650, 435, 126_640, 10)]
    # the 10 rejects are rows repeating a key after lowercasing (later row wins)
    reasons = query(fsds_warehouse, "select kind, count(*) from raw.rejects "
                    "where source_file = '2009q3.zip' and reason like '%duplicate fact%' "
                    "group by kind")
    assert reasons == [("value", 10)]
    counts = query(fsds_warehouse, "select count(*), count(distinct accession), "
                   "count(*) filter (where is_amendment), sum(fact_count) from raw.filings "
                   "where source = 'sec_fsds' and source_file = '2009q3.zip'")
    assert counts == [(435, 435, 73, 126_640)]
    assert query(fsds_warehouse, "select count(*) from raw.facts x join raw.filings f "
                 "using (filing_id) where f.source_file = '2009q3.zip'") == [(126_640,)]


def test_jpm_total_assets_and_filing_attributes(fsds_warehouse: Path) -> None:
    rows = query(fsds_warehouse, "select fiscal_year, fiscal_period, period_end, currency, "
                 "total_assets, total_liabilities_and_equity from marts.balance_sheet "
                 "where source = 'sec_fsds' and symbol = 'JPM'")
    assert rows == [(2009, "Q2", date(2009, 6, 30), "USD", Decimal("2026642000000"),
                     Decimal("2026642000000"))]
    filing = query(fsds_warehouse, "select cik, company_name, document_type, is_amendment, "
                   "filed_date, accession, period_start from raw.filings "
                   "where source = 'sec_fsds' and symbol = 'JPM'")
    assert filing == [("19617", "J P MORGAN CHASE & CO", "10-Q", False, date(2009, 8, 10),
                       "0000950123-09-032832", date(2009, 4, 1))]
    assert query(fsds_warehouse, "select cik from marts.companies "
                 "where source = 'sec_fsds' and symbol = 'JPM'") == [("19617",)]


def test_berkshire_total_assets_never_come_from_a_segment_row(fsds_warehouse: Path) -> None:
    """Berkshire reports Assets only under BusinessSegments members (even its consolidated
    figure is the member SegmentConsolidated): no consolidated total assets."""
    raw = query(fsds_warehouse, "select x.segments, x.value_number from raw.facts x "
                "join raw.filings f using (filing_id) where f.symbol = 'BRK-B' "
                "and x.concept = 'assets' and x.period_end = date '2009-06-30' "
                "order by x.value_number")
    assert raw == [
        ("BusinessSegments=SegmentFinanceAndFinancialProducts;", Decimal("24186000000")),
        ("BusinessSegments=SegmentUtilitiesAndEnergy;", Decimal("41822000000")),
        ("BusinessSegments=SegmentInsuranceAndOther;", Decimal("209638000000")),
        ("BusinessSegments=SegmentConsolidated;", Decimal("275646000000")),
    ]
    assert query(fsds_warehouse, "select count(*) from marts.statement_lines "
                 "where symbol = 'BRK-B' and line_item = 'total_assets'") == [(0,)]
    # none of its statement lines is any of those segment figures either
    assert query(fsds_warehouse, "select count(*) from marts.statement_lines "
                 "where symbol = 'BRK-B' and value in (24186000000, 41822000000, "
                 "209638000000, 275646000000)") == [(0,)]


def test_citigroup_coregistrant_assets_are_not_its_total(fsds_warehouse: Path) -> None:
    raw = query(fsds_warehouse, "select x.coreg, x.segments, x.value_number from raw.facts x "
                "join raw.filings f using (filing_id) where f.symbol = 'C' "
                "and x.concept = 'assets' and x.period_end = date '2009-06-30' "
                "and x.coreg is not null")
    assert raw == [("ParentCompany", "LegalEntity=ParentCompany;", Decimal("1848533000000"))]
    assert query(fsds_warehouse, "select count(*) from marts.statement_lines "
                 "where symbol = 'C' and value = 1848533000000") == [(0,)]


def test_company_specific_tags_are_prefixed_and_listed_in_concept_coverage(
        fsds_warehouse: Path) -> None:
    # 2009 filers declared ProfitLoss in their own namespace (version = adsh): 58 of them
    assert query(fsds_warehouse, "select filings, line_item from marts.concept_coverage "
                 "where concept = 'custom:profitloss'") == [(58, None)]
    versions = query(fsds_warehouse, "select distinct x.taxonomy_version = f.accession "
                     "from raw.facts x join raw.filings f using (filing_id) "
                     "where x.concept like 'custom:%' and f.source = 'sec_fsds'")
    assert versions == [(True,)]


def test_industry_templates_from_the_filers_own_sic(fsds_warehouse: Path) -> None:
    """sub.txt's `sic` decides the template of every data-set filer, seeded or not; the
    concepts decide only where no SIC is known (none here: every 2009q3 row has one)."""
    assert query(fsds_warehouse, "select count(*), count(sic), count(*) filter (where sic = "
                 "'6021') from raw.filings where source_file = '2009q3.zip'") == [(435, 435, 10)]
    rows = query(fsds_warehouse, "select symbol, industry_template, template_basis "
                 "from marts.companies where source = 'sec_fsds' and symbol in ("
                 "'JPM', 'CB', 'CIK0000036104', 'CIK0000921847', 'CIK0001378946', "
                 "'CIK0000049071', 'CIK0000315293', 'CIK0001063761', 'CIK0000040545', "
                 "'CIK0000004962', 'CIK0009990001', 'SNOW') order by symbol")
    assert rows == [
        ("CB", "insurer", "SIC 6331 (FSDS sub.txt)"),  # Chubb: by concepts it was commercial
        # American Express reports noninterest income and a loan-loss provision, but SIC
        # 6199 (finance services) is no bank code
        ("CIK0000004962", "commercial",
         "SIC 6199 (FSDS sub.txt): not a bank, insurer or REIT code"),
        ("CIK0000036104", "bank", "SIC 6021 (FSDS sub.txt)"),  # U.S. Bancorp, not seeded
        # General Electric reports a loan-loss provision (GE Capital): SIC 3600 decides
        ("CIK0000040545", "commercial",
         "SIC 3600 (FSDS sub.txt): not a bank, insurer or REIT code"),
        ("CIK0000049071", "insurer", "SIC 6324 (FSDS sub.txt)"),  # Humana: classified BS
        ("CIK0000315293", "insurer", "SIC 6411 (FSDS sub.txt)"),  # Aon, insurance broker
        ("CIK0000921847", "bank", "SIC 6036 (FSDS sub.txt)"),  # Hudson City, savings inst.
        ("CIK0001063761", "reit", "SIC 6798 (FSDS sub.txt)"),  # Simon Property: a REIT
        ("CIK0001378946", "bank", "SIC 6035 (FSDS sub.txt)"),  # People's United
        ("CIK0009990001", "bank", "SIC 6021 (FSDS sub.txt)"),  # the synthetic filer
        ("JPM", "bank", "SIC 6021 (FSDS sub.txt)"),  # seeded 6021 too: sub.txt named
        ("SNOW", "bank", "SIC 6021 (FSDS sub.txt)"),  # seed says 7372: the filer's wins
    ]
    counts = query(fsds_warehouse, "select industry_template, count(*) from marts.companies "
                   "where source = 'sec_fsds' group by 1 order by 1")
    # 2009q3: 19 banks, 26 insurers, 15 REITs, 370 others; + the two synthetic banks
    assert counts == [("bank", 21), ("commercial", 370), ("insurer", 26), ("reit", 15)]


# --------------------------------------------------------------------------- synthetic

def test_synthetic_quarter_latin1_segments_and_coregistrant(fsds_warehouse: Path) -> None:
    name = query(fsds_warehouse, "select company_name, symbol, fiscal_year, fiscal_period "
                 "from raw.filings where accession = ?", [SYN])
    assert name == [(SYN_NAME, "CIK0009990001", 2009, "Q2")]
    segments = query(fsds_warehouse, "select x.segments from raw.facts x join raw.filings f "
                     "using (filing_id) where f.accession = ? and x.concept = 'revenues' "
                     "order by 1", [SYN])
    assert segments == [("Région=Provence;",), ("Région=Île-de-France;",)]  # byte order
    bs = query(fsds_warehouse, "select total_assets, total_liabilities from "
               "marts.balance_sheet where symbol = 'CIK0009990001'")
    assert bs == [(Decimal("1000"), None)]  # not 5000 (co-registrant), no 700
    inc = query(fsds_warehouse, "select revenue, net_income_to_parent from "
                "marts.income_statement where symbol = 'CIK0009990001'")
    assert inc == [(None, Decimal("40"))]  # segment-only revenue; the quarter, not the YTD
    custom = query(fsds_warehouse, "select x.value_number, x.qtrs, x.period_start from "
                   "raw.facts x join raw.filings f using (filing_id) where f.accession = ? "
                   "and x.concept = 'custom:fraisdegestion'", [SYN])
    assert custom == [(Decimal("12.5"), 1, date(2009, 4, 1))]


def test_synthetic_rejects_name_file_record_and_key(fsds_warehouse: Path) -> None:
    log = query(fsds_warehouse, "select status, records, keys, filings, facts, rejects "
                "from raw.load_log where source_file = 'synthetic_2009q3.zip'")
    assert log == [("loaded", 1, 12, 1, 8, 4)]  # 8 facts + 4 rejected rows = 12 num rows
    reasons = [r[0] for r in query(
        fsds_warehouse, "select reason from raw.rejects "
        "where source_file = 'synthetic_2009q3.zip' order by reason")]
    assert reasons == [
        "file 'synthetic_2009q3.zip', key 'assets': fact of a submission that is not in "
        "sub.txt (adsh 0009990001-09-999999)",
        "file 'synthetic_2009q3.zip', key 'inventorynet': num.txt row with the wrong "
        "number of fields",
        "file 'synthetic_2009q3.zip', record 0, key 'cash': invalid ddate (expected YYYYMMDD)",
        "file 'synthetic_2009q3.zip', record 0, key 'goodwill': number beyond DECIMAL(38,10)",
    ]


def test_raw_checks_pass_on_the_fsds_warehouse(fsds_warehouse: Path) -> None:
    from pipeline.assets.raw import run_checks

    results = {r.check_name: r.passed for r in run_checks(fsds_warehouse)}
    assert results["raw_facts_unique"] is True
    assert results["raw_conservation"] is True


# --------------------------------------------------------------------------- loader

def test_same_quarter_twice_and_renamed_copy_add_no_versions(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(REAL_ZIP, seeds / "2009q3.zip")
    db = tmp_path / "w.duckdb"
    first = load_seeds(seeds, db)
    assert (first.files_loaded, first.new_filings, first.new_facts) == (1, 435, 126_640)
    again = load_seeds(seeds, db)
    assert (again.files_skipped, again.new_filings) == (1, 0)
    shutil.copy(REAL_ZIP, seeds / "2009q3_copy.zip")  # same content, another name
    copy = load_seeds(seeds, db)
    assert (copy.files_loaded, copy.files_skipped, copy.new_filings, copy.filings) == (
        1, 1, 0, 435)
    assert query(db, "select count(*), count(distinct filing_id) from raw.filings") == [
        (435, 435)]
    assert query(db, "select count(*) from raw.facts") == [(126_640,)]


def test_sic_column_added_to_an_older_warehouse(tmp_path: Path) -> None:
    """raw.filings.sic is migrated in (NULL for versions loaded before it existed)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    make_zip(seeds / "a.zip", SYN_SUB, SYN_NUM[:1])
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    with warehouse.session(db) as con:
        con.execute("alter table raw.filings drop column sic")
    make_zip(seeds / "b.zip", OVR_SUB, OVR_NUM)
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.files_skipped) == (1, 1)
    assert query(db, "select source_file, cik, sic from raw.filings order by 1") == [
        ("a.zip", "9990001", None), ("b.zip", "1640147", "6021")]


def test_truncated_zip_is_one_reject_and_nothing_half_loaded(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    data = REAL_ZIP.read_bytes()
    (seeds / "2009q3.zip").write_bytes(data[: len(data) // 2])
    make_zip(seeds / "good.zip", SYN_SUB, SYN_NUM[:2])
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.files_rejected) == (1, 1)
    log = query(db, "select status, filings, facts, rejects from raw.load_log "
                "where source_file = '2009q3.zip'")
    assert log == [("rejected", 0, 0, 1)]
    reject = query(db, "select record_index, concept, kind, reason from raw.rejects "
                   "where source_file = '2009q3.zip'")
    assert len(reject) == 1 and reject[0][:3] == (None, None, "file")
    assert reject[0][3].startswith("file '2009q3.zip': unreadable data-set zip (BadZipFile")
    assert query(db, "select source_file, count(*) from raw.filings group by all") == [
        ("good.zip", 1)]


def test_corrupt_member_is_rejected_whole() -> None:
    """A member whose bytes are damaged (CRC or inflate error) rejects the file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("sub.txt", ("\n".join([SUB_HEADER, *SYN_SUB, ""])).encode("latin-1"))
        zf.writestr("num.txt", ("\n".join([NUM_HEADER, *SYN_NUM[:2], ""])).encode("latin-1"))
    data = bytearray(buf.getvalue())
    at = data.find(b"Assets")
    data[at] = ord("X")  # the stored bytes no longer match the CRC
    parsed = fsds.parse_fsds(bytes(data), "crc.zip")
    assert parsed.filings == [] and len(parsed.rejects) == 1
    assert "BadZipFile" in parsed.rejects[0].reason


def test_bulk_companyfacts_zip_is_read_member_by_member(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    members = sorted((TEST_DATA / "sec").glob("*.json"))
    with zipfile.ZipFile(seeds / "companyfacts.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for path in members:
            zf.write(path, path.name)
    db = tmp_path / "w.duckdb"
    summary = load_seeds(seeds, db)
    # the same filings as the loose files give
    loose_dir = tmp_path / "loose"
    loose_dir.mkdir()
    for path in members:
        shutil.copy(path, loose_dir / path.name)
    loose = load_seeds(loose_dir, tmp_path / "loose.duckdb")
    assert summary.files_seen == len(members) == summary.files_loaded
    assert (summary.filings, summary.facts) == (loose.filings, loose.facts)
    assert query(db, "select source_file from raw.load_log order by 1") == [
        (f"companyfacts.zip/{p.name}",) for p in members]
    assert sorted(query(db, "select filing_id from raw.filings")) == sorted(
        query(tmp_path / "loose.duckdb", "select filing_id from raw.filings"))
    again = load_seeds(seeds, db)
    assert (again.files_skipped, again.new_filings) == (len(members), 0)


# --------------------------------------------------------------------------- periods

@pytest.mark.parametrize(("form", "fy", "fp", "end", "ytd", "expected"), [
    # a 10-Q labelled FY whose facts run six months to the period end: Q2
    ("10-Q", 2009, "FY", date(2009, 6, 30), 2, (date(2009, 4, 1), 2009, "Q2")),
    # fp agrees with the year-to-date facts
    ("10-Q/A", 2009, "Q3", date(2009, 9, 30), 3, (date(2009, 7, 1), 2009, "Q3")),
    # no YTD evidence beyond the quarter: fp is trusted
    ("10-Q", 2010, "Q1", date(2009, 6, 30), 1, (date(2009, 4, 1), 2010, "Q1")),
    # fy contradicting the dates (fiscal year ends 2009-12-31): replaced
    ("10-Q", 2011, "Q2", date(2009, 6, 30), 2, (date(2009, 4, 1), 2009, "Q2")),
    # annual form: FY of the year ending at the period end
    ("10-K", 2009, "FY", date(2009, 6, 30), None, (date(2008, 7, 1), 2009, "FY")),
    # a form neither annual nor quarterly, and no fp: nothing inferred
    ("8-K", 2009, None, date(2009, 6, 30), None, (None, 2009, None)),
])
def test_fiscal_year_and_period_checked_against_dates(
        form: str, fy: int, fp: str | None, end: date, ytd: int | None,
        expected: tuple[date | None, int | None, str | None]) -> None:
    got = fsds.fiscal(form, fy, fp, end, ytd)
    assert (got.period_start, got.fiscal_year, got.fiscal_period) == expected


def test_older_layout_without_segments_and_a_foreign_zip(tmp_path: Path) -> None:
    """Zips published before the `segments` column: read, segments NULL. A zip that is
    not a data set (no sub.txt/num.txt, no JSON members) is one reject naming it."""
    old_header = "adsh\ttag\tversion\tcoreg\tddate\tqtrs\tuom\tvalue\tfootnote"
    row = f"{SYN}\tAssets\tus-gaap/2009\t\t20090630\t0\tUSD\t1000.0000\t"
    path = make_zip(tmp_path / "old.zip", SYN_SUB, [row], header=old_header)
    parsed = fsds.parse_fsds(path.read_bytes(), "old.zip")
    assert (parsed.records, parsed.keys, parsed.rejects) == (1, 1, [])
    facts = parsed.facts_table.select(["concept", "value_number", "segments", "coreg"])
    assert facts.to_pylist() == [{"concept": "assets", "value_number": Decimal("1000"),
                                  "segments": None, "coreg": None}]
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("notes.txt", b"hello")
    rejected = fsds.parse_fsds(foreign.read_bytes(), "foreign.zip")
    assert [r.reason for r in rejected.rejects] == [
        "file 'foreign.zip': unreadable data-set zip (UnreadableZip: not a Financial "
        "Statement Data Sets zip (no sub.txt and num.txt; members: notes.txt)); nothing "
        "of it was loaded"]
