"""Accounting tie-outs (marts.tieout_results, marts.filing_quality) on real dbt builds.

Two warehouses:
- the seed (session fixture `seed_warehouse`): figures read by hand from seeds/TROO.json;
- synthetic vendor filings generated from tests/data/tieouts/base_filing.json (a filing in
  which every identity ties, rounded to thousands), one company (symbol) per case, all in
  ONE seeds folder, loaded by the real loader and built by ONE `dbt build`.

For every rule of the seed dbt_project/seeds/tieout_rules.csv the synthetic cases are:
exact (ties: pass), within (one term off by the largest multiple of the rounding unit not
above the tolerance: pass; where (n + 1) is even this is exactly the tolerance, the
boundary), beyond (off by one unit more: fail), missing (a required term not reported:
skipped) and own (the only evidence for a term is a value derived from the rule's own
identity: skipped). Offsets are multiples of the unit so the inferred unit stays 1,000.

`own` comes from the statements' real derivations where the statements derive a term by
the rule (bs_assets_sum, bs_liabilities_sum, bs_total_equity_sum, is_gross_profit,
is_net_income_attribution). No statement derivation uses the other eleven identities, so
for every rule a second fixture marks one term of a tying filing as derived by the rule
in a copy of marts.statement_lines and re-runs only the tie-out models on that copy.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline import config
from tests.helpers import TEST_DATA, build_warehouse, query_dicts, run_dbt

TEMPLATE = json.loads((TEST_DATA / "tieouts" / "base_filing.json").read_text())
BASE: dict[str, Any] = TEMPLATE["base"]
PRIOR: dict[str, Any] = TEMPLATE["prior"]
YEAR: int = TEMPLATE["fiscal_year"]
RULES_CSV = config.DBT_PROJECT_DIR / "seeds" / "tieout_rules.csv"

UNIT = Decimal(1000)
EPS_TOLERANCE = Decimal("0.01")
PRETAX = (
    "incomelossfromcontinuingoperationsbeforeincometaxesextraordinaryitemsnoncontrollinginterest"
)
TOTAL_EQUITY = "stockholdersequityincludingportionattributabletononcontrollinginterest"
NET_CHANGE = (
    "cashcashequivalentsrestrictedcashandrestrictedcashequivalents"
    "periodincreasedecreaseincludingexchangerateeffect"
)
CASH_END = "cashcashequivalentsrestrictedcashandrestrictedcashequivalents"
OWN_IDENTITY = "derived from this rule's own identity"
PRETAX_BEFORE_EQUITY_METHOD = (
    "incomelossfromcontinuingoperationsbeforeincometaxesminorityinterestandincomeloss"
    "fromequitymethodinvestments"
)
CONTINUING = (
    "incomelossfromcontinuingoperationsincludingportionattributabletononcontrollinginterest"
)
COMPREHENSIVE = "comprehensiveincomenetoftaxincludingportionattributabletononcontrollinginterest"


@dataclass(frozen=True)
class RuleCase:
    """How the synthetic cases of one rule are made.

    lhs: the concept reporting the identity's left side (the term moved off);
    line_item: its line item; tie_to: for `<=` rules, the concept whose value the lhs is
    set to (A = B ties exactly); terms: terms present in the template, lhs and rhs together
    (n + 1 of the contract's "(n + 1) x unit / 2"); missing: (concept left out, term named
    in the detail; concept None = no previous fiscal year filing); own: the concept whose
    absence makes the statements derive a term by this very rule (None: never derived).
    """

    rule_id: str
    lhs: str
    line_item: str
    terms: int
    missing: tuple[str | None, str]
    tie_to: str | None = None
    own: str | None = None
    needs_prior: bool = False
    base: str = "base"

    @property
    def template(self) -> dict[str, Any]:
        """The tying filing of the rule's industry template (base, bank or insurer)."""
        return TEMPLATE[self.base]

    @property
    def comparison(self) -> str:
        return "<=" if self.tie_to else "="

    @property
    def tolerance(self) -> Decimal:
        if self.rule_id == "is_eps_basic":
            return EPS_TOLERANCE
        if self.comparison == "<=":
            return UNIT
        return self.terms * UNIT / 2

    @property
    def step(self) -> Decimal:
        return EPS_TOLERANCE if self.rule_id == "is_eps_basic" else UNIT

    @property
    def within(self) -> Decimal:
        """The largest multiple of the unit not above the tolerance."""
        return (self.tolerance // self.step) * self.step

    @property
    def beyond(self) -> Decimal:
        return self.within + self.step


RULES: list[RuleCase] = [
    RuleCase("bs_assets_equal_liabilities_and_equity", "assets", "total_assets", 2,
             ("liabilitiesandstockholdersequity", "total_liabilities_and_equity")),
    RuleCase("bs_assets_sum", "assets", "total_assets", 3,
             ("assetscurrent", "total_current_assets"), own="assetsnoncurrent"),
    RuleCase("bs_liabilities_sum", "liabilities", "total_liabilities", 3,
             ("liabilitiescurrent", "total_current_liabilities"), own="liabilitiesnoncurrent"),
    RuleCase("bs_total_equity_sum", TOTAL_EQUITY, "total_equity", 2,
             ("stockholdersequity", "stockholders_equity"), own=TOTAL_EQUITY),
    RuleCase("bs_liabilities_and_equity_sum", "liabilitiesandstockholdersequity",
             "total_liabilities_and_equity", 3,
             ("liabilitiesandstockholdersequity", "total_liabilities_and_equity"),
             own="liabilities"),
    RuleCase("bs_current_assets_within_total", "assetscurrent", "total_current_assets", 2,
             ("assets", "total_assets"), tie_to="assets"),
    RuleCase("bs_current_liabilities_within_total", "liabilitiescurrent",
             "total_current_liabilities", 2, ("liabilitiescurrent", "total_current_liabilities"),
             tie_to="liabilities"),
    RuleCase("bs_cash_within_current_assets", "cashandcashequivalentsatcarryingvalue",
             "cash_and_equivalents", 2, ("assetscurrent", "total_current_assets"),
             tie_to="assetscurrent"),
    RuleCase("is_gross_profit", "grossprofit", "gross_profit", 3, ("revenues", "revenue"),
             own="grossprofit"),
    RuleCase("is_operating_income", "operatingincomeloss", "operating_income", 3,
             ("operatingexpenses", "operating_expenses")),
    RuleCase("is_pretax_income", PRETAX, "pretax_income", 3,
             ("nonoperatingincomeexpense", "nonoperating_income")),
    RuleCase("is_net_income", "profitloss", "net_income", 3,
             ("incometaxexpensebenefit", "income_tax_expense")),
    RuleCase("is_net_income_attribution", "profitloss", "net_income", 2,
             ("netincomeloss", "net_income_to_parent"), own="profitloss"),
    RuleCase("is_eps_basic", "earningspersharebasic", "eps_basic", 3,
             ("weightedaveragenumberofsharesoutstandingbasic", "weighted_shares_basic")),
    RuleCase("cf_net_change_in_cash", NET_CHANGE, "net_change_in_cash", 4,
             (NET_CHANGE, "net_change_in_cash")),
    RuleCase("cf_cash_rollforward", CASH_END, "cash_end_of_period", 3,
             (None, "cash_beginning_of_period"), needs_prior=True),
    RuleCase("is_net_income_continuing_discontinued", "profitloss", "net_income", 2,
             (CONTINUING, "income_continuing_operations")),
    RuleCase("is_comprehensive_income", COMPREHENSIVE, "comprehensive_income", 3,
             ("othercomprehensiveincomelossnetoftax", "other_comprehensive_income")),
    RuleCase("cf_operating_continuing_discontinued", "netcashprovidedbyusedinoperatingactivities",
             "net_cash_operating", 3,
             ("cashprovidedbyusedinoperatingactivitiesdiscontinuedoperations",
              "net_cash_operating_discontinued")),
    RuleCase("cf_investing_continuing_discontinued", "netcashprovidedbyusedininvestingactivities",
             "net_cash_investing", 3,
             ("cashprovidedbyusedininvestingactivitiesdiscontinuedoperations",
              "net_cash_investing_discontinued")),
    RuleCase("cf_financing_continuing_discontinued", "netcashprovidedbyusedinfinancingactivities",
             "net_cash_financing", 3,
             ("cashprovidedbyusedinfinancingactivitiesdiscontinuedoperations",
              "net_cash_financing_discontinued")),
    RuleCase("is_net_interest_income", "interestincomeexpensenet", "net_interest_income", 3,
             ("interestexpense", "interest_expense"), base="bank"),
    RuleCase("is_bank_revenue", "revenuesnetofinterestexpense", "revenue", 3,
             ("interestincomeexpensenet", "net_interest_income"),
             own="revenuesnetofinterestexpense", base="bank"),
    RuleCase("is_bank_pretax_income", PRETAX_BEFORE_EQUITY_METHOD, "pretax_income", 5,
             ("noninterestexpense", "noninterest_expense"), base="bank"),
    RuleCase("is_insurer_pretax_income", PRETAX_BEFORE_EQUITY_METHOD, "pretax_income", 3,
             ("benefitslossesandexpenses", "costs_and_expenses"), base="insurer"),
]
BY_RULE = {r.rule_id: r for r in RULES}
CASES = ("exact", "within", "beyond", "missing")


def _json_number(value: Decimal | int | float) -> int | float:
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _filing(symbol: str, data: dict[str, Any], year: int = YEAR, period: str = "FY",
            date: str | None = None) -> dict[str, Any]:
    """A filing in the vendor's nested shape."""
    return {
        "symbol": symbol,
        "fiscalYear": year,
        "period": period,
        "reportedCurrency": "USD",
        "date": date or f"{year}-12-31",
        "data": {k: _json_number(v) for k, v in data.items()},
    }


def _company(symbol: str, data: dict[str, Any], prior: dict[str, Any] | None = None
             ) -> list[dict[str, Any]]:
    filings = [_filing(symbol, data)]
    if prior is not None:
        filings.append(_filing(symbol, prior, year=YEAR - 1))
    return filings


def _moved(rule: RuleCase, offset: Decimal) -> dict[str, Any]:
    data = dict(rule.template)
    start = Decimal(str(rule.template[rule.tie_to or rule.lhs]))
    data[rule.lhs] = start + offset
    return data


def rule_cases() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(symbol, filings) for the standard cases of every rule."""
    for rule in RULES:
        prior = PRIOR if rule.needs_prior else None
        yield f"{rule.rule_id}:exact", _company(f"{rule.rule_id}:exact", _moved(rule, Decimal(0)),
                                                prior)
        yield f"{rule.rule_id}:within", _company(f"{rule.rule_id}:within",
                                                 _moved(rule, rule.within), prior)
        yield f"{rule.rule_id}:beyond", _company(f"{rule.rule_id}:beyond",
                                                 _moved(rule, rule.beyond), prior)
        concept, _term = rule.missing
        missing = {k: v for k, v in rule.template.items() if k != concept}
        yield f"{rule.rule_id}:missing", _company(f"{rule.rule_id}:missing", missing,
                                                  None if concept is None else prior)
        if rule.own is not None:
            own = {k: v for k, v in rule.template.items() if k != rule.own}
            yield f"{rule.rule_id}:own", _company(f"{rule.rule_id}:own", own, prior)
        # tying filings whose lhs term the tamper fixture marks as derived
        for case in ("tamper", "tamper_other"):
            yield f"{rule.rule_id}:{case}", _company(f"{rule.rule_id}:{case}", dict(rule.template),
                                                     prior)


def special_cases() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Cases for the rules' special forms, optional terms and rounding units."""
    # is_operating_income, variant 2: costs_and_expenses instead of operating_expenses
    costs = {k: v for k, v in BASE.items() if k != "operatingexpenses"}
    costs["costsandexpenses"] = BASE["costofrevenue"] + BASE["operatingexpenses"]
    yield "special:costs_exact", _company("special:costs_exact", costs)
    yield "special:costs_beyond", _company(
        "special:costs_beyond", costs | {"operatingincomeloss": BASE["operatingincomeloss"] + 2000})
    # is_eps_basic: net_income_available_to_common wins over net_income_to_parent
    to_common = BASE | {"netincomelossavailabletocommonstockholdersbasic": 1_600_000,
                        "earningspersharebasic": 1.6}
    yield "special:eps_to_common", _company("special:eps_to_common", to_common)
    # is_net_income with an optional term present: n + 1 = 4, tolerance 2,000 (pretax income
    # reported before equity-method income: the concept's definition gives the reading)
    optional = {k: v for k, v in BASE.items() if k not in (PRETAX, CONTINUING)} | {
        PRETAX_BEFORE_EQUITY_METHOD: BASE[PRETAX],
        "incomelossfromequitymethodinvestments": 100_000,
        "profitloss": BASE["profitloss"] + 100_000 + 2000}
    yield "special:optional_present", _company("special:optional_present", optional)
    # bs_liabilities_and_equity_sum with temporary equity present: n + 1 = 4
    temporary = BASE | {"temporaryequitycarryingamountattributabletoparent": 10_000,
                        "liabilitiesandstockholdersequity":
                            BASE["liabilitiesandstockholdersequity"] + 10_000 + 2000}
    yield "special:temporary_equity", _company("special:temporary_equity", temporary)
    # readings: equity-method income within pretax income, confirmed by the filer's own
    # income from continuing operations (= pretax - tax), or after tax (= pretax - tax + EMI);
    # continuing operations that confirm neither: the concept's reading, which fails
    emi = BASE | {"incomelossfromequitymethodinvestments": 100_000}
    yield "special:emi_within_pretax", _company("special:emi_within_pretax", emi)
    after = emi | {CONTINUING: 1_800_000, "profitloss": 1_800_000, "netincomeloss": 1_800_000,
                   COMPREHENSIVE: 1_850_000, "earningspersharebasic": 1.8}
    yield "special:emi_after_tax", _company("special:emi_after_tax", after)
    neither = after | {CONTINUING: 1_750_000}
    yield "special:emi_neither", _company("special:emi_neither", neither)
    # costs and expenses as operating expenses below gross profit, confirmed by R&D + SG&A
    opex = {k: v for k, v in BASE.items() if k != "operatingexpenses"} | {
        "costsandexpenses": 2_000_000, "researchanddevelopmentexpense": 1_200_000,
        "sellinggeneralandadministrativeexpense": 800_000}
    yield "special:costs_operating", _company("special:costs_operating", opex)
    # a net change in cash reported before the FX effect (the concept says so)
    before_fx = {k: v for k, v in BASE.items() if k != NET_CHANGE} | {
        "cashandcashequivalentsperiodincreasedecreaseexcludingexchangerateeffect": 1_000_000,
        "effectofexchangerateoncashcashequivalentsrestrictedcashandrestrictedcashequivalents":
            10_000,
        CASH_END: BASE[CASH_END] + 10_000}
    yield "special:net_change_before_fx", _company("special:net_change_before_fx", before_fx,
                                                   PRIOR)
    # gross profit after a line the source does not carry: operating income ties to the
    # reported gross profit (3,990,000 - 2,000,000) and not to revenue - cost - opex
    line = {k: v for k, v in BASE.items() if k != "grossprofit"} | {
        "ifrs-full:grossprofit": 3_990_000, "operatingincomeloss": 1_990_000,
        "nonoperatingincomeexpense": 110_000}
    yield "special:gross_profit_line", _company("special:gross_profit_line", line)
    # the same gap on a us-gaap gross profit: that reading is open to IFRS only, a finding
    usgaap = BASE | {"grossprofit": 3_990_000, "operatingincomeloss": 1_990_000,
                     "nonoperatingincomeexpense": 110_000}
    yield "special:gross_profit_gap", _company("special:gross_profit_gap", usgaap)
    # cf_cash_rollforward on a quarter: skipped (annual only)
    yield "special:quarter", [_filing("special:quarter", BASE, period="Q1", date=f"{YEAR}-03-31"),
                              _filing("special:quarter", PRIOR, year=YEAR - 1)]
    # cf_cash_rollforward across filings of different rounding: the previous year reports
    # in millions, so the coarser unit (1,000,000) applies: tolerance 1,500,000
    for case, offset in (("coarse_within", 1_000_000), ("coarse_beyond", 2_000_000)):
        current = BASE | {CASH_END: 1_000_000 + BASE[NET_CHANGE] + offset}
        yield f"special:{case}", _company(f"special:{case}", current, {CASH_END: 1_000_000})
    # rounding units: thousands of thousands (capped at a million) and ones
    millions = {k: (v if k in ("earningspersharebasic", "commonstocksharesoutstanding",
                               "weightedaveragenumberofsharesoutstandingbasic") else v * 1000)
                for k, v in BASE.items()}
    yield "special:unit_millions", _company("special:unit_millions", millions)
    ones = BASE | {"cashandcashequivalentsatcarryingvalue": 1_001_001}
    yield "special:unit_ones", _company("special:unit_ones", ones)


def all_filings() -> list[dict[str, Any]]:
    filings: list[dict[str, Any]] = []
    symbols: set[str] = set()
    for symbol, company in (*rule_cases(), *special_cases()):
        assert symbol not in symbols
        symbols.add(symbol)
        filings.extend(company)
    return filings


Results = dict[tuple[str, str], dict[str, Any]]


def _results(db: Path) -> Results:
    rows = query_dicts(db, "select * from marts.tieout_results where fiscal_year = ?", [YEAR])
    return {(r["symbol"], r["rule_id"]): r for r in rows}


@pytest.fixture(scope="module")
def synthetic_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every synthetic case in one seeds folder, loaded and built once."""
    root = tmp_path_factory.mktemp("tieouts")
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / "synthetic_tieouts.json").write_text(json.dumps(all_filings()))
    return build_warehouse(seeds, root / "financials.duckdb")


@pytest.fixture(scope="module")
def synthetic(synthetic_warehouse: Path) -> Results:
    return _results(synthetic_warehouse)


@pytest.fixture(scope="module")
def tampered(synthetic_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """A copy whose `tamper` cases' lhs term reads as derived by the rule itself (and the
    `tamper_other` cases' as derived by another rule); only the tie-out models re-run."""
    db = tmp_path_factory.mktemp("tieouts_tampered") / "financials.duckdb"
    shutil.copy(synthetic_warehouse, db)
    con = duckdb.connect(str(db))
    try:
        for rule in RULES:
            for case, by_rule in (("tamper", rule.rule_id), ("tamper_other", "another_rule")):
                con.execute(
                    "update intermediate.int_statement_lines set method = 'derived',"
                    " source_concept = null, derivation = 'test', derivation_rule = ?"
                    " where symbol = ? and fiscal_year = ? and line_item = ?",
                    [by_rule, f"{rule.rule_id}:{case}", YEAR, rule.line_item])
                assert con.execute("select count(*) from marts.statement_lines where symbol = ?"
                                   " and derivation_rule = ?",
                                   [f"{rule.rule_id}:{case}", by_rule]).fetchone() == (1,)
    finally:
        con.close()
    run_dbt(db, "run", "--select", "int_tieout__term_values", "int_tieout__variants",
            "int_tieout__evaluations", "tieout_results")
    return _results(db)


def test_every_rule_of_the_seed_has_cases() -> None:
    with RULES_CSV.open(newline="") as f:
        seeded = {row["rule_id"]: row for row in csv.DictReader(f)}
    assert set(seeded) == set(BY_RULE)
    assert len(seeded) == 25
    for rule in RULES:
        assert seeded[rule.rule_id]["comparison"] == rule.comparison
    errors = {r for r, row in seeded.items() if row["severity"] == "error"}
    assert errors == {"bs_assets_equal_liabilities_and_equity", "cf_net_change_in_cash",
                      "cf_cash_rollforward"}
    assert {row["statement"] for row in seeded.values()} == {
        "balance_sheet", "income_statement", "cash_flow_statement"}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule_id)
@pytest.mark.parametrize("case", CASES)
def test_rule_cases(synthetic: Results, rule: RuleCase, case: str) -> None:
    row = synthetic[(f"{rule.rule_id}:{case}", rule.rule_id)]
    if case == "missing":
        assert row["status"] == "skipped", row
        assert f"required term missing: {rule.missing[1]}" in row["detail"]
        assert row["lhs"] is None and row["tolerance"] is None
        return
    offset = {"exact": Decimal(0), "within": rule.within, "beyond": rule.beyond}[case]
    expected = "fail" if case == "beyond" else "pass"
    assert row["status"] == expected, row
    assert row["difference"] == offset, row
    assert row["lhs"] - row["rhs"] == row["difference"]
    assert row["tolerance"] == rule.tolerance, row
    assert row["rounding_unit"] == (EPS_TOLERANCE if rule.rule_id == "is_eps_basic" else UNIT)
    assert row["severity"] in ("error", "warn")
    assert rule.line_item in row["detail"]


@pytest.mark.parametrize("rule", [r for r in RULES if r.own], ids=lambda r: r.rule_id)
def test_term_derived_by_the_statements_from_the_rule_itself_is_skipped(
        synthetic: Results, rule: RuleCase) -> None:
    row = synthetic[(f"{rule.rule_id}:own", rule.rule_id)]
    assert row["status"] == "skipped", row
    assert OWN_IDENTITY in row["detail"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule_id)
def test_term_marked_derived_by_the_rule_itself_is_skipped(tampered: Results,
                                                          rule: RuleCase) -> None:
    own = tampered[(f"{rule.rule_id}:tamper", rule.rule_id)]
    assert own["status"] == "skipped", own
    assert f"{rule.line_item} {OWN_IDENTITY}" in own["detail"]
    other = tampered[(f"{rule.rule_id}:tamper_other", rule.rule_id)]
    assert other["status"] == "pass", other
    assert "[derived by another_rule]" in other["detail"]


def test_derived_from_another_identity_counts_as_a_term(synthetic: Results) -> None:
    # total equity not reported: derived by bs_total_equity_sum, a term of the L&E sum
    row = synthetic[("bs_total_equity_sum:own", "bs_liabilities_and_equity_sum")]
    assert row["status"] == "pass"
    assert row["detail"].endswith(
        "; derived terms: total_equity 5003000 [derived by bs_total_equity_sum]")
    assert row["tolerance"] == 1500
    # carried-forward beginning cash (derivation_rule NULL) is a term of the roll-forward
    row = synthetic[("cf_cash_rollforward:exact", "cf_cash_rollforward")]
    assert "cash_beginning_of_period 1000 [derived:" in row["detail"]


def test_operating_income_alternative_with_costs_and_expenses(synthetic: Results) -> None:
    exact = synthetic[("special:costs_exact", "is_operating_income")]
    assert exact["status"] == "pass"
    assert exact["detail"].startswith(
        "reading: costs and expenses are total costs (the default reading: no subtotal or"
        " concept of the filer decides it). operating_income = revenue - costs_and_expenses;")
    beyond = synthetic[("special:costs_beyond", "is_operating_income")]
    assert (beyond["status"], beyond["difference"], beyond["tolerance"]) == ("fail", 2000, 1500)
    # a failing row spells the formula out with its values
    assert beyond["detail"].split(". ", 1)[1].startswith(
        "operating_income 2002000 = revenue 9000000 - costs_and_expenses 7000000;"
        " difference 2000 beyond tolerance 1500 = (2 + 1) x unit 1000 / 2")
    # without either expense total the main identity is reported missing
    missing = synthetic[("is_operating_income:missing", "is_operating_income")]
    assert "operating_expenses" in missing["detail"]


def test_eps_prefers_net_income_available_to_common(synthetic: Results) -> None:
    row = synthetic[("special:eps_to_common", "is_eps_basic")]
    assert row["status"] == "pass"
    # 1,600,000 / 1,000,000 (with net_income_to_parent it would be 1.7, 0.1 off)
    assert (row["lhs"], row["rhs"], row["difference"]) == (Decimal("1.6"), Decimal("1.6"), 0)
    assert row["detail"].startswith("eps_basic = (net_income_available_to_common else"
                                    " net_income_to_parent) / weighted_shares_basic;")


def test_optional_terms_count_only_when_present(synthetic: Results) -> None:
    # is_net_income: 2,000 off fails with the optionals absent (n + 1 = 3, tolerance 1,500)
    # and passes with equity-method income present (n + 1 = 4, tolerance 2,000: the boundary)
    assert synthetic[("is_net_income:beyond", "is_net_income")]["difference"] == 2000
    assert synthetic[("is_net_income:beyond", "is_net_income")]["status"] == "fail"
    row = synthetic[("special:optional_present", "is_net_income")]
    assert (row["status"], row["difference"], row["tolerance"]) == ("pass", 2000, 2000)
    assert "+ equity_method_income (optional)" in row["detail"]
    row = synthetic[("special:temporary_equity", "bs_liabilities_and_equity_sum")]
    assert (row["status"], row["difference"], row["tolerance"]) == ("pass", 2000, 2000)
    absent = synthetic[("bs_liabilities_and_equity_sum:beyond", "bs_liabilities_and_equity_sum")]
    assert (absent["status"], absent["difference"], absent["tolerance"]) == ("fail", 2000, 1500)


def test_cash_rollforward_is_annual_only(synthetic: Results) -> None:
    row = synthetic.get(("special:quarter", "cf_cash_rollforward"))
    assert row is not None
    assert row["status"] == "skipped"
    assert "annual periods only (Q1 row)" in row["detail"]
    # the quarter's other cash-flow rule is evaluated
    assert synthetic[("special:quarter", "cf_net_change_in_cash")]["status"] == "pass"


def test_cash_rollforward_uses_the_coarser_unit_of_the_two_filings(synthetic: Results) -> None:
    within = synthetic[("special:coarse_within", "cf_cash_rollforward")]
    assert (within["status"], within["difference"]) == ("pass", 1_000_000)
    assert (within["rounding_unit"], within["tolerance"]) == (1_000_000, 1_500_000)
    beyond = synthetic[("special:coarse_beyond", "cf_cash_rollforward")]
    assert (beyond["status"], beyond["difference"]) == ("fail", 2_000_000)
    # the filing's own rules keep its own unit
    assert synthetic[("special:coarse_within", "bs_assets_sum")]["rounding_unit"] == UNIT


def test_rounding_unit_from_monetary_values_only(synthetic: Results) -> None:
    millions = synthetic[("special:unit_millions", "bs_assets_sum")]
    assert (millions["rounding_unit"], millions["tolerance"]) == (1_000_000, 1_500_000)
    ones = synthetic[("special:unit_ones", "bs_assets_sum")]
    assert (ones["rounding_unit"], ones["tolerance"]) == (1, Decimal("1.5"))
    # shares outstanding 999,999 and EPS 1.7 do not make the template's unit finer
    assert synthetic[("bs_assets_sum:exact", "bs_assets_sum")]["rounding_unit"] == UNIT


def test_one_result_per_mart_key_and_rule(synthetic_warehouse: Path) -> None:
    [(keys, rules, results)] = [tuple(r.values()) for r in query_dicts(synthetic_warehouse, """
        select (select count(*) from marts.filing_quality),
               (select count(*) from reference.tieout_rules),
               (select count(*) from marts.tieout_results)""")]
    assert results == keys * rules


def test_filing_quality_counts(synthetic_warehouse: Path) -> None:
    rows = query_dicts(synthetic_warehouse, """
        select q.*, r.passed, r.failed, r.skipped, r.worst
        from marts.filing_quality q
        join (select source, symbol, fiscal_year, fiscal_period,
                     count(*) filter (where status = 'pass') as passed,
                     count(*) filter (where status = 'fail') as failed,
                     count(*) filter (where status = 'skipped') as skipped,
                     case
                         when bool_or(severity = 'error' and status = 'fail') then 'error'
                         when bool_or(status = 'fail') then 'warn'
                     end as worst
              from marts.tieout_results group by all) r
        using (source, symbol, fiscal_year, fiscal_period)""")
    assert rows
    for row in rows:
        assert row["rules_passed"] == row["passed"]
        assert row["rules_failed"] == row["failed"]
        assert row["rules_skipped"] == row["skipped"]
        assert row["rules_evaluated"] == row["passed"] + row["failed"]
        assert row["worst_failed_severity"] == row["worst"]
        if row["rules_evaluated"]:
            assert row["score"] == row["rules_passed"] / row["rules_evaluated"]
        else:
            assert row["score"] is None
    by_symbol = {(r["symbol"], r["fiscal_year"]): r for r in rows}
    clean = by_symbol[("cf_cash_rollforward:exact", YEAR)]
    # the four bank and insurer identities do not apply to a commercial filer
    assert (clean["rules_evaluated"], clean["rules_failed"], clean["rules_skipped"]) == (21, 0, 4)
    assert (clean["worst_failed_severity"], clean["score"]) == (None, 1.0)
    # an error rule failing outranks the warn rules failing with it
    error = by_symbol[("bs_assets_equal_liabilities_and_equity:beyond", YEAR)]
    assert error["worst_failed_severity"] == "error"
    # gross profit 2,000 too high: is_gross_profit and is_operating_income fail (warn);
    # no previous fiscal year loaded: the roll-forward has no beginning balance (skipped)
    warn = by_symbol[("is_gross_profit:beyond", YEAR)]
    assert (warn["worst_failed_severity"], warn["rules_failed"]) == ("warn", 2)
    # skipped: the roll-forward and the four bank and insurer identities (not applicable)
    assert (warn["rules_evaluated"], warn["rules_skipped"], warn["score"]) == (20, 5, 18 / 20)


# --- the seed (seeds/TROO.json, figures read by hand) -------------------------------


def _seed_results(db: Path, year: int) -> dict[str, dict[str, Any]]:
    rows = query_dicts(db, "select * from marts.tieout_results where symbol = 'TROO'"
                           " and fiscal_year = ?", [year])
    return {r["rule_id"]: r for r in rows}


def test_seed_2023_every_rule_passes_or_is_skipped(seed_warehouse: Path) -> None:
    results = _seed_results(seed_warehouse, 2023)
    assert len(results) == 25
    assert {r["status"] for r in results.values()} <= {"pass", "skipped"}
    # total equity is not reported in 2023: derived by bs_total_equity_sum, so that rule
    # cannot confirm itself; the bank and insurer identities do not apply to a commercial
    # filer; comprehensive income and the continuing / discontinued split are not reported
    assert {k for k, r in results.items() if r["status"] == "skipped"} == {
        "bs_total_equity_sum", "is_net_interest_income", "is_bank_revenue",
        "is_bank_pretax_income", "is_insurer_pretax_income", "is_comprehensive_income",
        "is_net_income_continuing_discontinued", "cf_operating_continuing_discontinued",
        "cf_investing_continuing_discontinued", "cf_financing_continuing_discontinued"}
    # 3,113,000 = 2,950,000 (2022's ending cash, carried forward) + 163,000
    roll = results["cf_cash_rollforward"]
    assert (roll["lhs"], roll["rhs"], roll["difference"]) == (3_113_000, 3_113_000, 0)
    # -6,538,000 + 4,779,000 + 1,923,000 - 1,000 = 163,000; n = 4, unit 1,000
    change = results["cf_net_change_in_cash"]
    assert (change["lhs"], change["tolerance"], change["rounding_unit"]) == (163_000, 2500, 1000)
    # -1,719,000 / 101,597,998 = -0.0169196247 against -0.02
    eps = results["is_eps_basic"]
    assert (eps["lhs"], eps["rhs"]) == (Decimal("-0.02"), Decimal("-0.0169196247"))
    quality = query_dicts(seed_warehouse, "select * from marts.filing_quality"
                                          " where symbol = 'TROO' and fiscal_year = 2023")[0]
    assert (quality["rules_evaluated"], quality["rules_passed"], quality["rules_failed"],
            quality["rules_skipped"], quality["worst_failed_severity"], quality["score"]) == (
        15, 15, 0, 10, None, 1.0)


def test_seed_2020_balance_sheet_does_not_balance(seed_warehouse: Path) -> None:
    row = _seed_results(seed_warehouse, 2020)["bs_assets_equal_liabilities_and_equity"]
    # total assets 52,116,000 against liabilities and equity 90,130,000
    assert (row["status"], row["severity"]) == ("fail", "error")
    assert (row["lhs"], row["rhs"], row["difference"]) == (52_116_000, 90_130_000, -38_014_000)
    # the 2020 filing reports loans receivable of 201,647,726 (line item `loans`), not a
    # multiple of ten: the filing's inferred rounding unit is 1
    assert (row["rounding_unit"], row["tolerance"]) == (1, 1)
    assert row["detail"].startswith(
        "total_assets 52116000 = total_liabilities_and_equity 90130000; difference -38014000")
    quality = query_dicts(seed_warehouse, "select * from marts.filing_quality"
                                          " where symbol = 'TROO' and fiscal_year = 2020")[0]
    assert quality["worst_failed_severity"] == "error"
    assert quality["rules_failed"] >= 1


def test_equity_method_reading_from_the_filers_continuing_operations(synthetic: Results) -> None:
    # pretax 2,100,000 - tax 400,000 = continuing 1,700,000 = net income: equity-method
    # income (100,000) is already within pretax income, so it is not added again
    within = synthetic[("special:emi_within_pretax", "is_net_income")]
    assert (within["status"], within["difference"]) == ("pass", 0)
    assert within["detail"].startswith(
        "reading: equity-method income within pretax income (confirmed by the filer's own"
        " subtotals in this filing: income_continuing_operations = pretax_income -"
        " income_tax_expense (equity_method_income reported and already in pretax_income)).")
    # continuing 1,800,000 = 2,100,000 - 400,000 + 100,000: after tax, added
    after = synthetic[("special:emi_after_tax", "is_net_income")]
    assert (after["status"], after["lhs"], after["rhs"]) == ("pass", 1_800_000, 1_800_000)
    assert after["detail"].startswith("reading: equity-method income after tax (confirmed")
    # continuing 1,750,000 confirms neither: the pretax concept's reading (within), which
    # fails against net income 1,800,000: never the reading that would pass
    neither = synthetic[("special:emi_neither", "is_net_income")]
    assert (neither["status"], neither["difference"]) == ("fail", 100_000)
    assert "the reported concept" in neither["detail"]
    assert "equity-method income within pretax income" in neither["detail"]


def test_costs_and_expenses_read_as_operating_expenses(synthetic: Results) -> None:
    # costs_and_expenses 2,000,000 = R&D 1,200,000 + SG&A 800,000: below gross profit
    row = synthetic[("special:costs_operating", "is_operating_income")]
    assert (row["status"], row["lhs"], row["rhs"]) == ("pass", 2_000_000, 2_000_000)
    assert row["detail"].startswith("reading: costs and expenses are operating expenses"
                                    " (confirmed by the filer's own subtotals in this filing")


def test_net_change_in_cash_before_fx(synthetic: Results) -> None:
    # the concept ...ExcludingExchangeRateEffect: the FX effect (10,000) is not in the net
    # change; the roll-forward adds it (confirmed: the activities sum to the net change)
    change = synthetic[("special:net_change_before_fx", "cf_net_change_in_cash")]
    assert (change["status"], change["lhs"], change["rhs"]) == ("pass", 1_000_000, 1_000_000)
    assert change["detail"].startswith("reading: net change in cash before the FX effect")
    roll = synthetic[("special:net_change_before_fx", "cf_cash_rollforward")]
    assert (roll["status"], roll["lhs"], roll["rhs"]) == ("pass", 1_011_000, 1_011_000)
    assert "confirmed by the filer's own subtotals in this filing" in roll["detail"]


def test_gross_profit_after_a_line_not_in_the_source(synthetic: Results) -> None:
    # operating income 1,990,000 = gross profit 3,990,000 - opex 2,000,000, not revenue -
    # cost - opex (2,000,000): gross profit is after a line the source does not carry
    row = synthetic[("special:gross_profit_line", "is_gross_profit")]
    assert row["status"] == "skipped"
    assert row["detail"].startswith("reading: gross profit after a line the source does not"
                                    " carry (confirmed by the filer's own subtotals")
    assert "required term missing: line_between_cost_of_sales_and_gross_profit" in row["detail"]
    gap = synthetic[("special:gross_profit_gap", "is_gross_profit")]
    assert (gap["status"], gap["difference"]) == ("fail", -10_000)
    assert gap["detail"].startswith("reading: gross profit is revenue less cost of revenue")
    # the same rule with gross profit = revenue - cost of revenue is evaluated (BASE)
    assert synthetic[("is_gross_profit:exact", "is_gross_profit")]["status"] == "pass"


def test_bank_template_skips_rules_that_do_not_apply(synthetic: Results) -> None:
    row = synthetic[("is_net_interest_income:exact", "bs_assets_sum")]
    assert row["status"] == "skipped"
    assert row["detail"] == ("skipped: not applicable: bank balance sheets are unclassified"
                             " (no current assets or liabilities); required term missing:"
                             " total_current_assets, total_noncurrent_assets")
    commercial = synthetic[("bs_assets_sum:exact", "is_bank_revenue")]
    assert commercial["detail"].startswith(
        "skipped: not applicable: a bank identity (industry template commercial)")
