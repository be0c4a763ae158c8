"""Deterministic synthetic as-reported filings for the scale benchmark and its tests.

Why synthetic: the benchmark needs thousands of companies whose statements tie out
*exactly*, so that the tie-out checks have a known answer: every failure they report
must be one we injected on purpose, and every injected error must be found. Real
vendor data cannot give that (the seed itself does not tie in 2020).

What one run writes (`generate(out_dir, companies, years, seed)`):
- one JSON file per company (`<SYMBOL>.json`, a JSON array of filings like
  `seeds/TROO.json`), written file by file with orjson so 10,000 companies x 10 years
  (about 25 million facts) never sit in memory at once;
- both as-reported shapes of the contract: flat filings (concepts beside `symbol`,
  `date`, `period`) and nested ones (`{"symbol", "fiscalYear", "period",
  "reportedCurrency", "date", "data": {...}}`), chosen per company;
- statements that tie out exactly under every rule of the contract, because every
  subtotal is computed from integer components in the company's rounding unit
  (thousands, some filers millions): balance-sheet identities, income-statement
  subtotals, the cash roll-forward across fiscal years, EPS = NI / weighted shares
  rounded to cents;
- realistic concept variants per company (revenue, cost of revenue, capex, FX effect,
  pre-tax income, short-term debt spellings; `profitloss` reported or not; gross-profit
  or costs-and-expenses income statements), traps a naive map gets wrong
  (`noncurrentassets` as a geographic disclosure, `longtermdebt` including current
  maturities), dei cover-page keys and disclosure filler so each filing carries about
  250 keys like the seed, some companies with numeric strings instead of numbers;
- some quarterly filings (10-Q, year-to-date cash flows), partial amendments
  (a cash-flow reclassification, a cover-page-only amendment, and amendments that
  correct an error of the original: those must *not* fail);
- a known list of injected tie-out errors, each breaking exactly one rule in one
  filing (the other terms are moved with it so no other rule notices), returned as a
  manifest and written beside the output folder, never inside it (the loader loads
  every `*.json` of SEEDS_DIR).

Everything derives from `random.Random(f"{seed}:{index}")` per company, so the same
seed gives the same bytes, and companies are independent of each other (generation
runs in parallel processes without changing the output).
"""

from __future__ import annotations

import argparse
import calendar
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

DEFAULT_SEED = 7
LAST_FISCAL_YEAR = 2024

# The contract's sixteen rule ids, in the order injections cycle through them.
RULES: tuple[str, ...] = (
    "bs_assets_equal_liabilities_and_equity",
    "bs_assets_sum",
    "bs_liabilities_sum",
    "bs_total_equity_sum",
    "bs_liabilities_and_equity_sum",
    "bs_current_assets_within_total",
    "bs_current_liabilities_within_total",
    "bs_cash_within_current_assets",
    "is_gross_profit",
    "is_operating_income",
    "is_pretax_income",
    "is_net_income",
    "is_net_income_attribution",
    "is_eps_basic",
    "cf_net_change_in_cash",
    "cf_cash_rollforward",
)

# Concept spellings per line item: a company picks one per line item (index 0 is the
# most common). Only concepts the concept map (dbt_project/seeds/concept_map.csv)
# maps to that line item; tests/test_generator.py checks it against the map.
VARIANTS: dict[str, tuple[str, ...]] = {
    "revenue": (
        "revenues",
        "revenuefromcontractwithcustomerexcludingassessedtax",
        "salesrevenuenet",
        "revenuefromcontractwithcustomerincludingassessedtax",
    ),
    "cost_of_revenue": (
        "costofrevenue",
        "costofgoodsandservicessold",
        "costofgoodssold",
        "costofservices",
    ),
    "capital_expenditure": (
        "paymentstoacquirepropertyplantandequipment",
        "paymentstoacquireproductiveassets",
    ),
    "fx_effect_on_cash": (
        "effectofexchangerateoncashcashequivalentsrestrictedcashandrestrictedcashequivalents",
        "effectofexchangerateoncashandcashequivalents",
        "effectofexchangerateoncashcashequivalentsrestrictedcashandrestrictedcashequivalents"
        "includingdisposalgroupanddiscontinuedoperations",
    ),
    "pretax_income": (
        "incomelossfromcontinuingoperationsbeforeincometaxesextraordinaryitems"
        "noncontrollinginterest",
        "incomelossfromcontinuingoperationsbeforeincometaxesminorityinterestand"
        "incomelossfromequitymethodinvestments",
    ),
    "short_term_debt": (
        "longtermdebtcurrent",
        "shorttermborrowings",
        "debtcurrent",
    ),
}

# One concept for every other line item the generator reports.
CONCEPTS: dict[str, str] = {
    # balance sheet
    "cash_and_equivalents": "cashandcashequivalentsatcarryingvalue",
    "short_term_investments": "shortterminvestments",
    "accounts_receivable": "accountsreceivablenetcurrent",
    "inventory": "inventorynet",
    "total_current_assets": "assetscurrent",
    "property_plant_equipment_net": "propertyplantandequipmentnet",
    "goodwill": "goodwill",
    "intangible_assets": "intangibleassetsnetexcludinggoodwill",
    "total_noncurrent_assets": "assetsnoncurrent",
    "total_assets": "assets",
    "accounts_payable": "accountspayablecurrent",
    "total_current_liabilities": "liabilitiescurrent",
    "long_term_debt": "longtermdebtnoncurrent",
    "total_noncurrent_liabilities": "liabilitiesnoncurrent",
    "total_liabilities": "liabilities",
    "temporary_equity": "temporaryequitycarryingamountattributabletoparent",
    "common_stock": "commonstockvalue",
    "additional_paid_in_capital": "additionalpaidincapital",
    "retained_earnings": "retainedearningsaccumulateddeficit",
    "accumulated_oci": "accumulatedothercomprehensiveincomelossnetoftax",
    "treasury_stock": "treasurystockvalue",
    "stockholders_equity": "stockholdersequity",
    "noncontrolling_interest": "minorityinterest",
    "total_equity": "stockholdersequityincludingportionattributabletononcontrollinginterest",
    "total_liabilities_and_equity": "liabilitiesandstockholdersequity",
    "shares_outstanding": "commonstocksharesoutstanding",
    # income statement
    "gross_profit": "grossprofit",
    "research_and_development": "researchanddevelopmentexpense",
    "selling_general_administrative": "sellinggeneralandadministrativeexpense",
    "operating_expenses": "operatingexpenses",
    "costs_and_expenses": "costsandexpenses",
    "operating_income": "operatingincomeloss",
    "interest_expense": "interestexpense",
    "nonoperating_income": "nonoperatingincomeexpense",
    "income_tax_expense": "incometaxexpensebenefit",
    "equity_method_income": "incomelossfromequitymethodinvestments",
    "income_continuing_operations": "incomelossfromcontinuingoperations",
    "income_discontinued_operations": "incomelossfromdiscontinuedoperationsnetoftax",
    "net_income": "profitloss",
    "net_income_to_noncontrolling": "netincomelossattributabletononcontrollinginterest",
    "net_income_to_parent": "netincomeloss",
    "net_income_available_to_common": "netincomelossavailabletocommonstockholdersbasic",
    "eps_basic": "earningspersharebasic",
    "eps_diluted": "earningspersharediluted",
    "weighted_shares_basic": "weightedaveragenumberofsharesoutstandingbasic",
    "weighted_shares_diluted": "weightedaveragenumberofdilutedsharesoutstanding",
    # cash flow
    "net_cash_operating": "netcashprovidedbyusedinoperatingactivities",
    "net_cash_investing": "netcashprovidedbyusedininvestingactivities",
    "net_cash_financing": "netcashprovidedbyusedinfinancingactivities",
    "net_change_in_cash": "cashcashequivalentsrestrictedcashandrestrictedcashequivalents"
    "periodincreasedecreaseincludingexchangerateeffect",
    "cash_end_of_period": "cashcashequivalentsrestrictedcashandrestrictedcashequivalents",
    "depreciation_and_amortization": "depreciationdepletionandamortization",
    "share_based_compensation": "sharebasedcompensation",
    "dividends_paid": "paymentsofdividends",
    "stock_repurchased": "paymentsforrepurchaseofcommonstock",
    "debt_issued": "proceedsfromissuanceoflongtermdebt",
    "debt_repaid": "repaymentsoflongtermdebt",
    "income_taxes_paid": "incometaxespaidnet",
    "interest_paid": "interestpaidnet",
}

# Statement components that are not contract line items (they make the subtotals add
# up, as on a real statement); unmapped concepts, like most of a filing.
COMPONENTS: dict[str, str] = {
    "_other_current_assets": "prepaidexpenseandotherassetscurrent",
    "_other_noncurrent_assets": "otherassetsnoncurrent",
    "_accrued_liabilities": "accruedliabilitiescurrent",
    "_other_current_liabilities": "otherliabilitiescurrent",
    "_other_noncurrent_liabilities": "otherliabilitiesnoncurrent",
    "_other_operating_expenses": "othercostandexpenseoperating",
    "_other_nonoperating": "othernonoperatingincomeexpense",
    "_restricted_cash": "restrictedcashandcashequivalentsatcarryingvalue",
}

# Traps for a naive concept map: values that must NOT land on a line item.
TRAPS: dict[str, str] = {
    "_geographic_long_lived_assets": "noncurrentassets",  # a geographic disclosure
    "_debt_including_current": "longtermdebt",  # includes current maturities
}

# Disclosure filler: prefix families x suffixes. Kinds by name: rates/percentages are
# fractions, counts are integers, terms are ISO durations, prices are per share.
_FILLER_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("finitelivedintangibleassetsamortizationexpense", (
        "nexttwelvemonths", "yeartwo", "yearthree", "yearfour", "yearfive", "afteryearfive")),
    ("lesseeoperatingleaseliabilitypaymentsdue", (
        "", "nexttwelvemonths", "yeartwo", "yearthree", "yearfour", "yearfive",
        "afteryearfive")),
    ("lessoroperatingleasepaymentstobereceived", (
        "", "nexttwelvemonths", "twoyears", "threeyears", "fouryears", "fiveyears",
        "thereafter")),
    ("longtermdebtmaturitiesrepaymentsofprincipalin", (
        "nexttwelvemonths", "yeartwo", "yearthree", "yearfour", "yearfive", "afteryearfive")),
    ("effectiveincometaxratereconciliation", (
        "atfederalstatutoryincometaxrate", "stateandlocalincometaxes",
        "foreignincometaxratedifferential", "changeindeferredtaxassetsvaluationallowance",
        "nondeductibleexpense", "taxcreditsresearch", "otheradjustments",
        "prioryearincometaxes", "changeinenactedtaxrate", "sharebasedcompensationexcesstaxbenefit",
        "deductionsforeignderivedintangibleincome", "tax credits foreign")),
    ("deferredtaxassets", (
        "operatinglosscarryforwards", "taxdeferredexpensereservesandaccruals",
        "taxcreditcarryforwardsresearch", "valuationallowance", "gross",
        "propertyplantandequipment", "inventory", "deferredincome",
        "taxdeferredexpensecompensationandbenefitssharebasedcompensationcost",
        "operatingleaseliabilities", "other", "capitalizedresearchanddevelopment")),
    ("deferredtaxliabilities", (
        "", "propertyplantandequipment", "goodwillandintangibleassets",
        "leasingarrangements", "deferredexpense", "other", "undistributedforeignearnings")),
    ("sharebasedcompensationarrangementbysharebasedpaymentaward", (
        "fairvalueassumptionsexpectedvolatilityrate", "fairvalueassumptionsriskfreeinterestrate",
        "fairvalueassumptionsexpecteddividendrate", "fairvalueassumptionsexpectedterm1",
        "optionsoutstandingnumber", "optionsgrantsinperiodgross", "optionsexercisesinperiod",
        "optionsforfeituresinperiod", "optionsoutstandingweightedaverageexerciseprice",
        "optionsgrantsinperiodweightedaveragegrantdatefairvalue",
        "numberofsharesavailableforgrant", "numberofsharesauthorized", "awardvestingperiod1",
        "optionsexercisablenumber", "optionsexercisableweightedaverageexerciseprice",
        "optionsoutstandingweightedaverageremainingcontractualterm2",
        "equityinstrumentsotherthanoptionsnonvestednumber",
        "equityinstrumentsotherthanoptionsgrantsinperiod",
        "equityinstrumentsotherthanoptionsvestedinperiod",
        "equityinstrumentsotherthanoptionsnonvestedweightedaveragegrantdatefairvalue")),
    ("unrecognizedtaxbenefits", (
        "", "increasesresultingfromcurrentperiodtaxpositions",
        "decreasesresultingfromsettlementswithtaxingauthorities",
        "incometaxpenaltiesandinterestaccrued", "thatwouldimpacteffectivetaxrate",
        "reductionsresultingfromlapseofapplicablestatuteoflimitations",
        "increasesresultingfrompriorperiodtaxpositions")),
    ("definedbenefitplan", (
        "benefitobligation", "fairvalueofplanassets", "fundedstatusofplan",
        "netperiodicbenefitcost", "servicecost", "interestcost", "expectedreturnonplanassets",
        "contributionsbyemployer", "benefitspaid",
        "assumptionsusedcalculatingbenefitobligationdiscountrate",
        "assumptionsusedcalculatingnetperiodicbenefitcostexpectedlongtermreturnonassets",
        "expectedfuturebenefitpaymentsnexttwelvemonths", "expectedfuturebenefitpaymentsyeartwo",
        "expectedfuturebenefitpaymentsyearthree", "expectedfuturebenefitpaymentsyearfour",
        "expectedfuturebenefitpaymentsyearfive", "expectedfuturebenefitpaymentsfiveyearsthereafter",
        "actuarialgainloss", "plancontributionsbyplanparticipants")),
    ("operatinglease", (
        "cost", "payments", "rightofuseasset", "liability", "liabilitycurrent",
        "liabilitynoncurrent", "weightedaverageremainingleaseterm1",
        "weightedaveragediscountratepercent", "expense", "leaseincome",
        "rightofuseassetamortization", "rightofuseassetobtainedinexchangeforleaseliability")),
    ("financelease", (
        "liability", "rightofuseasset", "interestexpense", "rightofuseassetamortization",
        "weightedaverageremainingleaseterm1", "weightedaveragediscountratepercent",
        "liabilitypaymentsduenexttwelvemonths", "liabilitypaymentsdueyeartwo",
        "principalpayments", "interestpaymentonliability")),
    ("propertyplantandequipment", (
        "gross", "usefullife", "additions", "disposals", "transfersandchanges",
        "estimatedusefullives")),
    ("finitelivedintangibleassets", (
        "gross", "accumulatedamortization", "acquired1", "weightedaverageusefullife",
        "remainingamortizationperiod")),
    ("goodwill", (
        "acquiredduringperiod", "impairmentloss", "foreigncurrencytranslationgainloss",
        "translationandpurchaseaccountingadjustments", "periodincreasedecrease",
        "impairedaccumulatedimpairmentloss")),
    ("concentrationriskpercentage", ("1", "2", "3")),
    ("revenueremainingperformanceobligation", (
        "", "percentage", "expectedtimingofsatisfactionperiod1")),
    ("contractwithcustomer", (
        "liability", "liabilitycurrent", "liabilitynoncurrent", "liabilityrevenuerecognized",
        "assetnetcurrent", "refundliability")),
    ("lineofcreditfacility", (
        "maximumborrowingcapacity", "remainingborrowingcapacity", "interestrateatperiodend",
        "commitmentfeepercentage", "fairvalueofamountoutstanding", "expirationperiod1",
        "currentborrowingcapacity")),
    ("debtinstrument", (
        "faceamount", "interestratestatedpercentage", "interestrateeffectivepercentage",
        "unamortizeddiscount", "fairvalue", "convertibleconversionprice1", "term",
        "basisspreadonvariablerate1", "redemptionpricepercentage", "periodicpayment")),
    ("derivative", (
        "notionalamount", "fairvalueofderivativeasset", "fairvalueofderivativeliability",
        "gainlossonderivativenet", "averagefixedinterestrate", "fixedinterestrate",
        "remainingmaturity1")),
    ("incometaxreconciliation", (
        "incometaxexpensebenefitatfederalstatutoryincometaxrate", "stateandlocalincometaxes",
        "foreignincometaxratedifferential", "taxcredits", "nondeductibleexpense",
        "changeindeferredtaxassetsvaluationallowance", "otheradjustments")),
    ("stockrepurchaseprogram", (
        "authorizedamount1", "remainingauthorizedrepurchaseamount",
        "numberofsharesauthorizedtoberepurchased", "periodinforce1")),
    ("treasurystock", ("sharesacquired", "acquiredaveragecostpershare", "shares")),
    ("commonstock", (
        "sharesauthorized", "sharesissued", "parorstatedvaluepershare",
        "dividendspersharedeclared", "dividendspersharecashpaid")),
    ("preferredstock", ("sharesauthorized", "sharesissued", "parorstatedvaluepershare")),
    ("businesscombination", (
        "considerationtransferred1", "acquisitionrelatedcosts", "proformainformationrevenue"
        "ofacquiresinceacquisitiondateactual", "recognizedidentifiableassetsacquiredand"
        "liabilitiesassumedintangibleassetsotherthangoodwill",
        "recognizedidentifiableassetsacquiredandliabilitiesassumedcashandequivalents",
        "contingentconsiderationliability")),
    ("inventory", (
        "rawmaterialsnetofreserves", "workinprocessnetofreserves",
        "finishedgoodsnetofreserves", "valuationreserves", "liforeserve")),
    ("accountsreceivable", ("allowanceforcreditlosscurrent", "grosscurrent")),
    ("antidilutivesecuritiesexcludedfromcomputationofearningspershare", ("amount",)),
    ("numberof", (
        "operatingsegments", "reportablesegments", "stores", "countriesinwhichentityoperates",
        "realestateproperties")),
    ("fairvalue", (
        "assetsmeasuredonrecurringbasisassets", "liabilitiesmeasuredonrecurringbasisliabilities",
        "measurementwithunobservableinputsreconciliationrecurringbasisassetvalue",
        "assetsleveltwototransfersamount", "disclosureofffsetdebt")),
    ("availableforsaledebtsecurities", (
        "amortizedcostbasis", "accumulatedgrossunrealizedgainbeforetax",
        "accumulatedgrossunrealizedlossbeforetax", "debtmaturitieswithinoneyearfairvalue",
        "debtmaturitiesafteronethroughfiveyearsfairvalue")),
    ("employeerelatedliabilities", ("current",)),
    ("advertisingexpense", ("",)),
    ("researchanddevelopmentexpensesoftware", ("excludingacquiredinprocesscost",)),
    ("restructuring", (
        "reserve", "andrelatedcostincurredcost", "andrelatedcostexpectedcost1",
        "reservesettledwithcash")),
    ("segmentreporting", (
        "segmentrevenuepercentage", "revenuefromexternalcustomersbygeographicareas",
        "numberofcustomersaccountingfortenpercentormore")),
    ("otherliabilitycurrentrelatedpartytypeextensibleenumeration", ("",)),
    ("operatingleaseliabilitycurrentstatementoffinancialpositionextensiblelist", ("",)),
    ("incometaxexaminationyearunderexamination", ("1",)),
    ("auditorfees", ("audit", "auditrelated", "tax")),
)


def _filler_kind(name: str) -> str:
    """The value kind a disclosure concept carries, guessed from its name like a filer."""
    if "extensible" in name:
        return "uri"
    if "yearunderexamination" in name:
        return "year"
    if name.endswith(("term", "term1", "term2", "period1", "usefullife", "usefullives",
                      "lives", "periodinforce1", "expirationperiod1", "maturity1",
                      "vestingperiod1", "amortizationperiod", "expectedterm1")):
        return "duration"
    if ("rate" in name or "percentage" in name or "percent" in name) and "ratereconciliationat" \
            not in name:
        return "ratio"
    if name.endswith(("price", "price1", "pershare", "persharedeclared", "persharecashpaid",
                      "grantdatefairvalue", "averagecostpershare")):
        return "price"
    if name.startswith("numberof") or name.endswith(("number", "shares", "sharesauthorized",
                                                     "sharesissued", "grantsinperiod",
                                                     "vestedinperiod", "exercisesinperiod",
                                                     "forfeituresinperiod", "sharesacquired",
                                                     "amount", "gross",
                                                     "toberepurchased", "nonvestednumber",
                                                     "formore")) \
            and ("shares" in name or "number" in name or "options" in name
                 or "antidilutive" in name):
        return "count"
    return "money"


def _build_filler_pool() -> tuple[tuple[str, str], ...]:
    names: list[tuple[str, str]] = []
    seen: set[str] = set()
    for prefix, suffixes in _FILLER_FAMILIES:
        for suffix in suffixes:
            name = (prefix + suffix).replace(" ", "")
            if name not in seen:
                seen.add(name)
                names.append((name, _filler_kind(name)))
    return tuple(names)


FILLER_POOL: tuple[tuple[str, str], ...] = _build_filler_pool()

_EXCHANGES = ("NYSE", "NASDAQ", "NYSEAMER")
_AUDITORS = (
    ("Ernst & Young LLP", "San Jose, California", 42),
    ("PricewaterhouseCoopers LLP", "New York, New York", 238),
    ("Deloitte & Touche LLP", "Chicago, Illinois", 34),
    ("KPMG LLP", "Dallas, Texas", 185),
    ("BDO USA, LLP", "Boston, Massachusetts", 243),
    ("Grant Thornton LLP", "Minneapolis, Minnesota", 248),
)
_CITIES = (
    ("Austin", "TX"), ("Denver", "CO"), ("Seattle", "WA"), ("Boston", "MA"),
    ("Atlanta", "GA"), ("Phoenix", "AZ"), ("Columbus", "OH"), ("Raleigh", "NC"),
)
_NAME_A = ("Atlas", "Beacon", "Cobalt", "Delta", "Evergreen", "Falcon", "Granite", "Harbor",
           "Ion", "Juniper", "Keystone", "Lumen", "Meridian", "Nova", "Orion", "Pioneer",
           "Quantum", "Redwood", "Summit", "Titan", "Unity", "Vertex", "Willow", "Zenith")
_NAME_B = ("Systems", "Holdings", "Technologies", "Industries", "Therapeutics", "Brands",
           "Energy", "Networks", "Logistics", "Materials", "Foods", "Capital", "Devices")
_FOREIGN = (("EUR", "IE"), ("CAD", "CA"), ("GBP", "GB"), ("JPY", "JP"), ("CNY", "KY"))


def symbol_for(index: int) -> str:
    """A unique five-letter symbol per company index; sorts in index order."""
    letters = []
    n = index
    for _ in range(4):
        n, r = divmod(n, 26)
        letters.append(chr(65 + r))
    if n:
        raise ValueError("at most 26**4 companies")
    return "Z" + "".join(reversed(letters))


@dataclass
class Profile:
    """One company's reporting habits, drawn once; filings vary only in values."""

    index: int
    symbol: str
    name: str
    cik: int
    nested: bool
    strings: bool  # monetary values as numeric strings ("123000.000000")
    currency: str
    country: str
    foreign: bool  # 20-F filer
    fye_month: int
    unit: int  # rounding unit (1000 or 1,000,000)
    variant: dict[str, str]
    gross_style: bool  # gross profit + operating expenses, else costs and expenses
    has_sti: bool
    has_inventory: bool
    has_goodwill: bool
    has_intangibles: bool
    has_rd: bool
    reports_nc_totals: bool
    reports_total_equity: bool
    has_nci: bool
    reports_profitloss: bool
    has_temp_equity: bool
    has_treasury: bool
    has_equity_method: bool
    has_discontinued: bool
    has_preferred: bool
    has_fx: bool
    has_restricted: bool
    has_dividends: bool
    has_buybacks: bool
    traps: tuple[str, ...]
    quarterly_years: int  # the last N fiscal years also have Q1..Q3 10-Qs
    revenue: int  # first-year revenue in units
    cogs_ratio: float
    sga_ratio: float
    rd_ratio: float
    tax_rate: float
    asset_ratio: float  # total assets / revenue
    leverage: float  # liabilities / assets
    nci_share: float
    shares: int
    cash: int  # opening cash (incl. restricted) in units
    fillers: tuple[tuple[str, str, float], ...]
    auditor: tuple[str, str, int]
    city: tuple[str, str]
    exchange: str
    filer_category: str


def _pick(rng: random.Random, options: tuple[str, ...], weights: tuple[float, ...]) -> str:
    return rng.choices(options, weights=weights)[0]


def make_profile(seed: int, index: int, force: Iterable[str] = ()) -> Profile:
    """Draw company `index`'s habits; `force` turns on features an injection needs."""
    rng = random.Random(f"{seed}:{index}")
    foreign = rng.random() < 0.12
    currency, country = rng.choice(_FOREIGN) if foreign else ("USD", "DE")
    unit = 1_000_000 if rng.random() < 0.12 else 1000
    revenue_abs = 10 ** rng.uniform(7.3, 10.7)
    variant = {
        "revenue": _pick(rng, VARIANTS["revenue"], (0.4, 0.35, 0.15, 0.1)),
        "cost_of_revenue": _pick(rng, VARIANTS["cost_of_revenue"], (0.4, 0.3, 0.2, 0.1)),
        "capital_expenditure": _pick(rng, VARIANTS["capital_expenditure"], (0.8, 0.2)),
        "fx_effect_on_cash": _pick(rng, VARIANTS["fx_effect_on_cash"], (0.6, 0.3, 0.1)),
        "pretax_income": VARIANTS["pretax_income"][0],
        "short_term_debt": _pick(rng, VARIANTS["short_term_debt"], (0.5, 0.3, 0.2)),
    }
    has_nci = rng.random() < 0.3
    has_equity_method = rng.random() < 0.2
    if has_equity_method:
        variant["pretax_income"] = VARIANTS["pretax_income"][1]
    n_fill = rng.randint(155, 185)
    pool = list(FILLER_POOL)
    rng.shuffle(pool)
    fillers = tuple(
        (name, kind, _filler_base(rng, kind, revenue_abs / unit))
        for name, kind in sorted(pool[:n_fill])
    )
    profile = Profile(
        index=index,
        symbol=symbol_for(index),
        name=f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {index}, Inc.",
        cik=1_900_000 + index,
        nested=rng.random() < 0.4,
        strings=rng.random() < 0.1,
        currency=currency,
        country=country,
        foreign=foreign,
        fye_month=int(_pick(rng, ("12", "6", "9", "3", "1"), (0.7, 0.1, 0.1, 0.05, 0.05))),
        unit=unit,
        variant=variant,
        gross_style=rng.random() < 0.75,
        has_sti=rng.random() < 0.5,
        has_inventory=rng.random() < 0.6,
        has_goodwill=rng.random() < 0.6,
        has_intangibles=rng.random() < 0.55,
        has_rd=rng.random() < 0.45,
        reports_nc_totals=rng.random() < 0.3,
        reports_total_equity=has_nci or rng.random() < 0.3,
        has_nci=has_nci,
        reports_profitloss=has_nci and rng.random() < 0.8,
        has_temp_equity=rng.random() < 0.08,
        has_treasury=rng.random() < 0.4,
        has_equity_method=has_equity_method,
        has_discontinued=rng.random() < 0.1,
        has_preferred=rng.random() < 0.05,
        has_fx=foreign or rng.random() < 0.4,
        has_restricted=rng.random() < 0.3,
        has_dividends=rng.random() < 0.4,
        has_buybacks=rng.random() < 0.35,
        traps=tuple(t for t in TRAPS if rng.random() < 0.25),
        quarterly_years=0 if foreign or rng.random() >= 0.15 else 2,
        revenue=max(10, round(revenue_abs / unit)),
        cogs_ratio=rng.uniform(0.25, 0.75),
        sga_ratio=rng.uniform(0.08, 0.25),
        rd_ratio=rng.uniform(0.03, 0.15),
        tax_rate=rng.uniform(0.12, 0.28),
        asset_ratio=rng.uniform(0.8, 2.5),
        leverage=rng.uniform(0.3, 0.8),
        nci_share=rng.uniform(0.02, 0.12),
        shares=int(10 ** rng.uniform(7, 9.5)),
        cash=max(5, round(revenue_abs / unit * rng.uniform(0.05, 0.3))),
        fillers=fillers,
        auditor=rng.choice(_AUDITORS),
        city=rng.choice(_CITIES),
        exchange=rng.choice(_EXCHANGES),
        filer_category=rng.choice(("Large Accelerated Filer", "Accelerated Filer",
                                   "Non-accelerated Filer")),
    )
    for feature in force:
        _force(profile, feature)
    return profile


def _filler_base(rng: random.Random, kind: str, revenue_units: float) -> float:
    if kind == "money":
        return max(1.0, revenue_units * 10 ** rng.uniform(-3.0, -0.5))
    if kind == "ratio":
        return rng.uniform(0.005, 0.6)
    if kind == "count":
        return 10 ** rng.uniform(1, 7)
    if kind == "price":
        return rng.uniform(0.5, 150.0)
    return float(rng.randint(1, 10))


# Features each rule's injection needs (so the failing rule is evaluated, not skipped).
RULE_NEEDS: dict[str, tuple[str, ...]] = {
    "bs_assets_sum": ("reports_nc_totals",),
    "bs_liabilities_sum": ("reports_nc_totals",),
    "bs_total_equity_sum": ("has_nci", "reports_total_equity"),
    "is_gross_profit": ("gross_style",),
    "is_operating_income": ("gross_style",),
    "is_net_income_attribution": ("has_nci", "reports_profitloss"),
    "bs_current_assets_within_total": ("reports_nc_totals",),
    "bs_current_liabilities_within_total": ("reports_nc_totals",),
}


def _force(profile: Profile, feature: str) -> None:
    setattr(profile, feature, True)
    if feature == "has_nci":
        profile.reports_total_equity = True


# --------------------------------------------------------------------------- statements


def income_statement(p: Profile, rng: random.Random, revenue: int,
                     shares: int) -> dict[str, Any]:
    """Integer line items in units that satisfy every income-statement identity."""
    u = rng.uniform
    cogs = round(revenue * p.cogs_ratio * u(0.96, 1.04))
    gross = revenue - cogs
    rd = round(revenue * p.rd_ratio * u(0.9, 1.1)) if p.has_rd else 0
    sga = round(revenue * p.sga_ratio * u(0.9, 1.1))
    other_opex = round(revenue * u(0.0, 0.05))
    opex = rd + sga + other_opex
    operating = gross - opex
    interest = round(revenue * p.leverage * u(0.005, 0.03))
    other_nonop = round(revenue * u(-0.01, 0.02))
    nonop = other_nonop - interest
    pretax = operating + nonop
    tax = round(pretax * p.tax_rate * u(0.8, 1.2)) if pretax > 0 else round(pretax * u(0, 0.1))
    equity_method = round(revenue * u(-0.005, 0.02)) if p.has_equity_method else 0
    continuing = pretax - tax + equity_method
    discontinued = round(revenue * u(-0.03, 0.01)) if p.has_discontinued else 0
    net = continuing + discontinued
    to_nci = round(net * p.nci_share) if p.has_nci else 0
    to_parent = net - to_nci
    preferred = round(abs(revenue) * 0.002) if p.has_preferred else 0
    available = to_parent - preferred
    w_basic = round(shares * u(0.97, 1.0))
    w_diluted = w_basic + (round(w_basic * u(0.0, 0.03)) if available > 0 else 0)
    scale = p.unit
    lines: dict[str, Any] = {
        "revenue": revenue,
        "cost_of_revenue": cogs,
        "research_and_development": rd if p.has_rd else None,
        "selling_general_administrative": sga,
        "_other_operating_expenses": other_opex,
        "operating_income": operating,
        "interest_expense": interest,
        "_other_nonoperating": other_nonop,
        "nonoperating_income": nonop,
        "pretax_income": pretax,
        "income_tax_expense": tax,
        "equity_method_income": equity_method if p.has_equity_method else None,
        "income_continuing_operations": continuing,
        "income_discontinued_operations": discontinued if p.has_discontinued else None,
        "net_income": net if p.reports_profitloss else None,
        "net_income_to_noncontrolling": to_nci if p.has_nci else None,
        "net_income_to_parent": to_parent,
        "net_income_available_to_common": available if p.has_preferred else None,
        "eps_basic": round(available * scale / w_basic, 2),
        "eps_diluted": round(available * scale / w_diluted, 2),
        "weighted_shares_basic": w_basic,
        "weighted_shares_diluted": w_diluted,
    }
    if p.gross_style:
        lines["gross_profit"] = gross
        lines["operating_expenses"] = opex
    else:
        lines["costs_and_expenses"] = cogs + opex
    return lines


def balance_sheet(p: Profile, rng: random.Random, assets_scale: float,
                  cash_total: int, shares: int) -> dict[str, Any]:
    """Integer line items in units; `cash_total` includes restricted cash."""
    u = rng.uniform
    restricted = round(cash_total * u(0.02, 0.1)) if p.has_restricted else 0
    cash = cash_total - restricted
    sti = round(assets_scale * u(0.01, 0.08)) if p.has_sti else 0
    receivables = round(assets_scale * u(0.05, 0.15))
    inventory = round(assets_scale * u(0.03, 0.12)) if p.has_inventory else 0
    other_ca = round(assets_scale * u(0.01, 0.04)) + restricted
    current_assets = cash + sti + receivables + inventory + other_ca
    ppe = round(assets_scale * u(0.15, 0.4))
    goodwill = round(assets_scale * u(0.05, 0.2)) if p.has_goodwill else 0
    intangibles = round(assets_scale * u(0.02, 0.1)) if p.has_intangibles else 0
    other_nca = round(assets_scale * u(0.01, 0.06))
    noncurrent_assets = ppe + goodwill + intangibles + other_nca
    assets = current_assets + noncurrent_assets
    liab_target = assets * p.leverage * u(0.9, 1.1)
    payables = round(liab_target * u(0.08, 0.15))
    short_debt = round(liab_target * u(0.02, 0.08))
    accrued = round(liab_target * u(0.05, 0.1))
    other_cl = round(liab_target * u(0.02, 0.06))
    current_liabilities = payables + short_debt + accrued + other_cl
    long_debt = round(liab_target * u(0.3, 0.5))
    other_ncl = max(0, round(liab_target) - current_liabilities - long_debt)
    noncurrent_liabilities = long_debt + other_ncl
    liabilities = current_liabilities + noncurrent_liabilities
    temp = round(assets * u(0.01, 0.03)) if p.has_temp_equity else 0
    total_equity = assets - liabilities - temp
    nci = round(total_equity * p.nci_share) if p.has_nci else 0
    equity = total_equity - nci
    common = max(1, round(shares * 0.001 * u(0.5, 2) / p.unit))
    apic = round(assets * u(0.1, 0.4))
    aoci = round(assets * u(-0.02, 0.01))
    treasury = round(assets * u(0.01, 0.05)) if p.has_treasury else 0
    retained = equity - common - apic - aoci + treasury
    return {
        "cash_and_equivalents": cash,
        "_restricted_cash": restricted if p.has_restricted else None,
        "short_term_investments": sti if p.has_sti else None,
        "accounts_receivable": receivables,
        "inventory": inventory if p.has_inventory else None,
        "_other_current_assets": other_ca,
        "total_current_assets": current_assets,
        "property_plant_equipment_net": ppe,
        "goodwill": goodwill if p.has_goodwill else None,
        "intangible_assets": intangibles if p.has_intangibles else None,
        "_other_noncurrent_assets": other_nca,
        "total_noncurrent_assets": noncurrent_assets if p.reports_nc_totals else None,
        "total_assets": assets,
        "accounts_payable": payables,
        "short_term_debt": short_debt,
        "_accrued_liabilities": accrued,
        "_other_current_liabilities": other_cl,
        "total_current_liabilities": current_liabilities,
        "long_term_debt": long_debt,
        "_other_noncurrent_liabilities": other_ncl,
        "total_noncurrent_liabilities": noncurrent_liabilities if p.reports_nc_totals else None,
        "total_liabilities": liabilities,
        "temporary_equity": temp if p.has_temp_equity else None,
        "common_stock": common,
        "additional_paid_in_capital": apic,
        "retained_earnings": retained,
        "accumulated_oci": aoci,
        "treasury_stock": treasury if p.has_treasury else None,
        "stockholders_equity": equity,
        "noncontrolling_interest": nci if p.has_nci else None,
        "total_equity": total_equity if p.reports_total_equity else None,
        "total_liabilities_and_equity": liabilities + temp + total_equity,
        "shares_outstanding": shares,
        "_geographic_long_lived_assets": round(ppe * u(0.3, 0.7)),
        "_debt_including_current": long_debt + short_debt,
    }


def cash_flow(p: Profile, rng: random.Random, income: dict[str, Any], begin: int, end: int,
              quarters: int) -> dict[str, Any]:
    """Integer line items in units whose activity totals add up to end - begin.

    `quarters` is how many quarters of `income` the flows cover (4 for a year; a 10-Q's
    cash flows are year to date, so 1..3 times the quarter's income statement).
    """
    u = rng.uniform
    factor = quarters if quarters < 4 else 1
    revenue = income["revenue"] * factor
    net_income = (income["net_income_to_parent"]
                  + (income["net_income_to_noncontrolling"] or 0)) * factor
    da = round(revenue * u(0.02, 0.08))
    sbc = round(revenue * u(0.005, 0.04))
    operating = net_income + da + sbc + round(revenue * u(-0.04, 0.04))
    capex = round(revenue * u(0.02, 0.1))
    investing = -capex + round(revenue * u(-0.05, 0.02))
    fx = round(end * u(-0.03, 0.03)) if p.has_fx else 0
    change = end - begin
    financing = change - operating - investing - fx
    return {
        "net_cash_operating": operating,
        "net_cash_investing": investing,
        "net_cash_financing": financing,
        "fx_effect_on_cash": fx if p.has_fx else None,
        "net_change_in_cash": change,
        "cash_end_of_period": end,
        "depreciation_and_amortization": da,
        "share_based_compensation": sbc,
        "capital_expenditure": capex,
        "dividends_paid": round(revenue * u(0.01, 0.04)) if p.has_dividends else None,
        "stock_repurchased": round(revenue * u(0.0, 0.05)) if p.has_buybacks else None,
        "debt_issued": round(revenue * u(0.0, 0.06)),
        "debt_repaid": round(revenue * u(0.0, 0.06)),
        "income_taxes_paid": max(0, round(income["income_tax_expense"] * factor * u(0.7, 1.1))),
        "interest_paid": round(income["interest_expense"] * factor * u(0.8, 1.0)),
    }


# --------------------------------------------------------------------------- injections


@dataclass(frozen=True)
class Injection:
    """One deliberate tie-out error: `rule_id` must fail for this mart key, and only it."""

    file: str
    symbol: str
    fiscal_year: int
    fiscal_period: str
    rule_id: str
    line_items: tuple[str, ...]
    delta: float
    # The year also has Q1-Q3 10-Qs, so the warehouse derives its Q4 (FY - 9M): an error
    # in an identity of flows carries into that Q4 (iter_expected_failures).
    has_quarters: bool = False


def _delta(rng: random.Random, lines: dict[str, Any], ref: str) -> int:
    """An error far beyond any rounding tolerance (units), positive."""
    base = abs(lines.get(ref) or 0)
    return max(200, round(base * rng.uniform(0.05, 0.2)))


def inject(rule: str, rng: random.Random, lines: dict[str, Any],
           p: Profile) -> tuple[tuple[str, ...], float]:
    """Break exactly `rule` in one filing's line items (in place).

    Each perturbation moves the other terms with it so that every other identity still
    holds: e.g. total assets and total noncurrent assets move together, so only
    assets = liabilities + equity breaks.
    """
    if rule == "bs_assets_equal_liabilities_and_equity":
        d = _delta(rng, lines, "total_assets")
        lines["total_assets"] += d
        if lines["total_noncurrent_assets"] is not None:
            lines["total_noncurrent_assets"] += d
        return ("total_assets",), d * p.unit
    if rule == "bs_assets_sum":
        d = _delta(rng, lines, "total_noncurrent_assets")
        lines["total_noncurrent_assets"] += d
        return ("total_noncurrent_assets",), d * p.unit
    if rule == "bs_liabilities_sum":
        d = _delta(rng, lines, "total_noncurrent_liabilities")
        lines["total_noncurrent_liabilities"] += d
        return ("total_noncurrent_liabilities",), d * p.unit
    if rule == "bs_total_equity_sum":
        d = _delta(rng, lines, "stockholders_equity")
        lines["noncontrolling_interest"] += d
        return ("noncontrolling_interest",), d * p.unit
    if rule == "bs_liabilities_and_equity_sum":
        d = _delta(rng, lines, "total_liabilities")
        lines["total_liabilities"] += d
        if lines["total_noncurrent_liabilities"] is not None:
            lines["total_noncurrent_liabilities"] += d
        return ("total_liabilities",), d * p.unit
    if rule == "bs_current_assets_within_total":
        d = _delta(rng, lines, "total_assets")
        current = lines["total_assets"] + d
        lines["total_noncurrent_assets"] = lines["total_assets"] - current
        lines["total_current_assets"] = current
        return ("total_current_assets", "total_noncurrent_assets"), d * p.unit
    if rule == "bs_current_liabilities_within_total":
        d = _delta(rng, lines, "total_liabilities")
        current = lines["total_liabilities"] + d
        lines["total_noncurrent_liabilities"] = lines["total_liabilities"] - current
        lines["total_current_liabilities"] = current
        return ("total_current_liabilities", "total_noncurrent_liabilities"), d * p.unit
    if rule == "bs_cash_within_current_assets":
        d = _delta(rng, lines, "total_current_assets")
        lines["cash_and_equivalents"] = lines["total_current_assets"] + d
        return ("cash_and_equivalents",), d * p.unit
    if rule == "is_gross_profit":
        d = _delta(rng, lines, "cost_of_revenue")
        lines["cost_of_revenue"] += d
        return ("cost_of_revenue",), d * p.unit
    if rule == "is_operating_income":
        d = _delta(rng, lines, "operating_expenses")
        lines["operating_expenses"] += d
        return ("operating_expenses",), d * p.unit
    if rule == "is_pretax_income":
        d = _delta(rng, lines, "pretax_income")
        lines["nonoperating_income"] += d
        return ("nonoperating_income",), d * p.unit
    if rule == "is_net_income":
        d = _delta(rng, lines, "pretax_income")
        lines["income_tax_expense"] += d
        return ("income_tax_expense",), d * p.unit
    if rule == "is_net_income_attribution":
        d = _delta(rng, lines, "net_income")
        lines["net_income_to_noncontrolling"] += d
        return ("net_income_to_noncontrolling",), d * p.unit
    if rule == "is_eps_basic":
        d = round(max(0.25, abs(lines["eps_basic"]) * 0.2), 2)
        lines["eps_basic"] = round(lines["eps_basic"] + d, 2)
        return ("eps_basic",), d
    if rule == "cf_net_change_in_cash":
        d = _delta(rng, lines, "net_cash_operating")
        lines["net_cash_operating"] += d
        return ("net_cash_operating",), d * p.unit
    if rule == "cf_cash_rollforward":
        d = _delta(rng, lines, "cash_end_of_period")
        lines["cash_end_of_period"] += d
        return ("cash_end_of_period",), d * p.unit
    raise ValueError(f"unknown rule {rule!r}")


@dataclass
class Plan:
    """Which (company, fiscal year) FY filings carry an injected error or a correction."""

    injections: dict[tuple[int, int], str] = field(default_factory=dict)
    corrections: set[tuple[int, int]] = field(default_factory=set)
    _by_company: dict[int, tuple[dict[int, str], set[int]]] = field(default_factory=dict)

    def index(self) -> None:
        """Group by company once (10,000 companies x 500 injections otherwise)."""
        self._by_company = {}
        for (company, year), rule in self.injections.items():
            self._by_company.setdefault(company, ({}, set()))[0][year] = rule
        for company, year in self.corrections:
            self._by_company.setdefault(company, ({}, set()))[1].add(year)

    def for_company(self, index: int) -> tuple[dict[int, str], set[int]]:
        return self._by_company.get(index, ({}, set()))

    def forced(self, index: int) -> list[str]:
        injections, corrections = self.for_company(index)
        needs = [need for rule in injections.values() for need in RULE_NEEDS.get(rule, ())]
        if corrections:
            needs.append("gross_style")
        return needs


def default_errors(companies: int) -> int:
    return max(len(RULES), companies // 20)


def make_plan(seed: int, companies: int, years: int, errors: int, corrections: int) -> Plan:
    """Spread `errors` injections (cycling through the sixteen rules) and `corrections`
    over distinct FY filings. The roll-forward error goes in a company's last fiscal
    year: an earlier one would also break the next year's carried-forward balance."""
    rng = random.Random(f"{seed}:plan")
    first = LAST_FISCAL_YEAR - years + 1
    plan = Plan()
    capacity = companies * years
    errors = min(errors, capacity)
    corrections = min(corrections, capacity - errors)
    used: set[tuple[int, int]] = set()
    rollforward_capacity = companies
    for i in range(errors):
        rule = RULES[i % len(RULES)]
        if rule == "cf_cash_rollforward" and rollforward_capacity == 0:
            rule = RULES[0]
        for _ in range(100_000):
            company = rng.randrange(companies)
            year = LAST_FISCAL_YEAR if rule == "cf_cash_rollforward" else \
                rng.randrange(first, LAST_FISCAL_YEAR + 1)
            if (company, year) not in used:
                break
        else:  # pragma: no cover - capacity checked above
            raise RuntimeError("no free filing for an injection")
        if rule == "cf_cash_rollforward":
            rollforward_capacity -= 1
            if years < 2:  # no previous year: the rule would be skipped
                rule = RULES[0]
        used.add((company, year))
        plan.injections[(company, year)] = rule
    for _ in range(corrections):
        while True:
            key = (rng.randrange(companies), rng.randrange(first, LAST_FISCAL_YEAR + 1))
            if key not in used:
                break
        used.add(key)
        plan.corrections.add(key)
    plan.index()
    return plan


# --------------------------------------------------------------------------- rendering


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_end(fiscal_year: int, fye_month: int, quarter: int) -> date:
    months = fye_month - 3 * (4 - quarter)
    year = fiscal_year
    while months <= 0:
        months += 12
        year -= 1
    return _month_end(year, months)


class _Renderer:
    """Turns line items into a filing dict in the company's concept spellings and shape."""

    def __init__(self, p: Profile) -> None:
        self.p = p
        concept = dict(CONCEPTS) | dict(COMPONENTS) | dict(TRAPS) | p.variant
        self.concept = concept
        self.traps = set(p.traps)

    def number(self, value: Any, monetary: bool) -> Any:
        if value is None:
            return None
        if monetary:
            value = value * self.p.unit
        if self.p.strings and isinstance(value, int):
            return f"{value}.000000"
        return value

    def statements(self, lines: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item, value in lines.items():
            if value is None:
                continue
            if item in TRAPS and item not in self.traps:
                continue
            monetary = item not in _NON_MONETARY
            out[self.concept[item]] = self.number(value, monetary)
        return out

    def cover(self, fiscal_year: int, period: str, period_end: date, amendment: bool,
              quarter: bool) -> dict[str, Any]:
        p = self.p
        form = ("10-Q" if quarter else "20-F" if p.foreign else "10-K") + \
            ("/A" if amendment else "")
        dei: dict[str, Any] = {
            "documenttype": form,
            "documentannualreport": "false" if quarter else "true",
            "documentquarterlyreport": "true" if quarter else "false",
            "documenttransitionreport": "false",
            "amendmentflag": "true" if amendment else "false",
            "documentperiodenddate": period_end.isoformat(),
            "documentfiscalyearfocus": fiscal_year,
            "documentfiscalperiodfocus": period,
            "entityregistrantname": p.name,
            "entitycentralindexkey": p.cik,
            "currentfiscalyearenddate": f"--{p.fye_month:02d}-"
                                        f"{_month_end(2023, p.fye_month).day:02d}",
            "entitywellknownseasonedissuer": "No",
            "entityvoluntaryfilers": "No",
            "entitycurrentreportingstatus": "Yes",
            "entityinteractivedatacurrent": "Yes",
            "entityfilercategory": p.filer_category,
            "tradingsymbol": p.symbol,
            "entityshellcompany": "false",
            "entityemerginggrowthcompany": "false",
            "entityfilenumber": f"001-{30000 + p.index:05d}",
            "entityincorporationstatecountrycode": p.country,
            "entityaddresscityortown": p.city[0],
            "entityaddressstateorprovince": p.city[1],
            "securityexchangename": p.exchange,
            "security12btitle": "Common Stock, $0.001 par value",
            "documentfinstmterrorcorrectionflag": "false",
        }
        if p.foreign:
            dei["documentshellcompanyreport"] = "false"
            dei["documentaccountingstandard"] = "U.S. GAAP"
        if not quarter:
            dei["auditorname"], dei["auditorlocation"], dei["auditorfirmid"] = p.auditor
            dei["icfrauditorattestationflag"] = "true"
        if amendment:
            dei["amendmentdescription"] = "Amendment No. 1 to amend the report."
        return dei

    def fillers(self, rng: random.Random, growth: float, drop: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        rnd = rng.random
        for name, kind, base in self.p.fillers:
            r = rnd()
            if r < drop:
                continue
            if kind == "money":
                out[name] = self.number(round(base * growth * (0.8 + 0.4 * r)), True)
            elif kind == "ratio":
                out[name] = round(base * (0.9 + 0.2 * r), 4)
            elif kind == "count":
                out[name] = self.number(round(base * (0.9 + 0.2 * r)), False)
            elif kind == "price":
                out[name] = round(base * (0.9 + 0.2 * r), 2)
            elif kind == "duration":
                out[name] = f"P{int(base)}Y"
            elif kind == "year":
                out[name] = str(2010 + int(base))
            else:  # uri
                out[name] = "http://fasb.org/us-gaap/2024#OtherLiabilitiesCurrent"
        return out

    def filing(self, fiscal_year: int, period: str, period_end: date,
               body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The record in the company's shape, and its key count as the contract counts."""
        p = self.p
        if p.nested:
            record = {
                "symbol": p.symbol,
                "fiscalYear": fiscal_year,
                "period": period,
                "reportedCurrency": p.currency,
                "date": period_end.isoformat(),
                "data": body,
            }
            return record, 5 + len(body)
        record = {"date": period_end.isoformat(), "symbol": p.symbol, "period": period}
        record.update(body)
        return record, len(record)


_NON_MONETARY = frozenset({
    "eps_basic", "eps_diluted", "weighted_shares_basic", "weighted_shares_diluted",
    "shares_outstanding",
})


@dataclass
class CompanyResult:
    """What one company file holds (the manifest sums these)."""

    file: str
    symbol: str
    filings: int
    keys: int
    amendments: int
    quarters: int
    injected: list[Injection]
    corrected: list[dict[str, Any]]


def company_filings(seed: int, index: int, years: int,
                    plan: Plan) -> tuple[list[dict[str, Any]], CompanyResult]:
    """Every filing of one company, newest first like the seed, and its accounting."""
    p = make_profile(seed, index, plan.forced(index))
    injections, corrections = plan.for_company(index)
    rng = random.Random(f"{seed}:{index}:values")
    render = _Renderer(p)
    file_name = f"{p.symbol}.json"
    first = LAST_FISCAL_YEAR - years + 1
    revenue = p.revenue
    shares = p.shares
    cash = p.cash
    records: list[dict[str, Any]] = []
    total_keys = amendments = quarters = 0
    injected: list[Injection] = []
    corrected: list[dict[str, Any]] = []
    for fiscal_year in range(first, LAST_FISCAL_YEAR + 1):
        growth = rng.lognormvariate(0.05, 0.12)
        revenue = max(10, round(revenue * growth))
        shares = round(shares * rng.uniform(0.98, 1.03))
        begin = cash
        end = max(5, round(cash * rng.lognormvariate(0.02, 0.25) + revenue * rng.uniform(-0.02,
                                                                                       0.03)))
        cash = end
        year_records: list[dict[str, Any]] = []
        fy_end = _month_end(fiscal_year, p.fye_month)
        drop = rng.uniform(0.0, 0.08)
        # Quarters (10-Q): the quarter's own income statement, year-to-date cash flows.
        if fiscal_year > LAST_FISCAL_YEAR - p.quarterly_years:
            for q in (1, 2, 3):
                q_end = _quarter_end(fiscal_year, p.fye_month, q)
                path = max(5, round(begin + (end - begin) * q / 4
                                    + revenue * rng.uniform(-0.01, 0.01)))
                q_income = income_statement(
                    p, rng, max(10, round(revenue / 4 * rng.uniform(0.9, 1.1))), shares)
                q_cash = cash_flow(p, rng, q_income, begin, path, q)
                q_balance = balance_sheet(p, rng, revenue * p.asset_ratio, path, shares)
                body = render.cover(fiscal_year, f"Q{q}", q_end, False, True)
                body.update(render.statements(q_balance | q_income | q_cash))
                body.update(render.fillers(rng, revenue / p.revenue / 4, drop))
                rec, n = render.filing(fiscal_year, f"Q{q}", q_end, body)
                year_records.append(rec)
                total_keys += n
                quarters += 1
        income = income_statement(p, rng, revenue, shares)
        flows = cash_flow(p, rng, income, begin, end, 4)
        balance = balance_sheet(p, rng, revenue * p.asset_ratio, end, shares)
        lines = balance | income | flows
        original = dict(lines)
        amendment: dict[str, Any] | None = None
        if fiscal_year in injections:
            rule = injections[fiscal_year]
            items, delta = inject(rule, rng, lines, p)
            injected.append(Injection(
                file_name, p.symbol, fiscal_year, "FY", rule, items, delta,
                has_quarters=fiscal_year > LAST_FISCAL_YEAR - p.quarterly_years))
        elif fiscal_year in corrections:
            d = _delta(rng, lines, "operating_expenses")
            lines["operating_expenses"] += d
            amendment = {"operating_expenses": original["operating_expenses"]}
            corrected.append({"file": file_name, "symbol": p.symbol, "fiscal_year": fiscal_year,
                              "fiscal_period": "FY", "rule_id": "is_operating_income",
                              "line_items": ["operating_expenses"], "delta": d * p.unit})
        else:
            roll = rng.random()
            if roll < 0.02:  # cash-flow reclassification: investing <-> financing
                d = max(1, round(abs(lines["net_cash_investing"]) * 0.1))
                amendment = {"net_cash_investing": lines["net_cash_investing"] - d,
                             "net_cash_financing": lines["net_cash_financing"] + d,
                             "capital_expenditure": lines["capital_expenditure"]}
            elif roll < 0.04:  # cover page only (e.g. to add Part III)
                amendment = {}
        body = render.cover(fiscal_year, "FY", fy_end, False, False)
        body.update(render.statements(lines))
        body.update(render.fillers(rng, revenue / p.revenue, drop))
        rec, n = render.filing(fiscal_year, "FY", fy_end, body)
        year_records.append(rec)
        total_keys += n
        if amendment is not None:
            body = render.cover(fiscal_year, "FY", fy_end, True, False)
            body.update(render.statements(amendment))
            rec, n = render.filing(fiscal_year, "FY", fy_end, body)
            year_records.append(rec)
            total_keys += n
            amendments += 1
        records[:0] = year_records
    result = CompanyResult(file_name, p.symbol, len(records), total_keys, amendments,
                           quarters, injected, corrected)
    return records, result


def _write_company(args: tuple[int, int, int, Plan, str]) -> CompanyResult:
    seed, index, years, plan, out = args
    records, result = company_filings(seed, index, years, plan)
    path = Path(out) / result.file
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(orjson.dumps(records))
    os.replace(tmp, path)
    return result


def _write_range(args: tuple[int, range, int, Plan, str]) -> list[CompanyResult]:
    seed, indexes, years, plan, out = args
    return [_write_company((seed, i, years, plan, out)) for i in indexes]


def manifest_path(out_dir: Path) -> Path:
    """Beside the output folder, never inside it (the loader reads every *.json there)."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.manifest.json"


def generate(out_dir: Path, companies: int, years: int = 10, seed: int = DEFAULT_SEED,
             errors: int | None = None, corrections: int | None = None,
             jobs: int = 1) -> dict[str, Any]:
    """Write `companies` files into `out_dir`; return (and write) the manifest."""
    if companies < 1 or years < 1:
        raise ValueError("companies and years must be >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    errors = default_errors(companies) if errors is None else errors
    corrections = max(1, companies // 100) if corrections is None else corrections
    plan = make_plan(seed, companies, years, errors, corrections)
    started = time.perf_counter()
    results: list[CompanyResult] = []
    if jobs > 1 and companies >= 50:
        chunk = max(1, min(100, companies // (jobs * 4)))
        tasks = [(seed, range(i, min(companies, i + chunk)), years, plan, str(out_dir))
                 for i in range(0, companies, chunk)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for part in pool.map(_write_range, tasks):
                results.extend(part)
    else:
        results = _write_range((seed, range(companies), years, plan, str(out_dir)))
    injected = [asdict(i) for r in results for i in r.injected]
    injected.sort(key=lambda d: (d["symbol"], d["fiscal_year"], d["rule_id"]))
    manifest = {
        "generator": "bench.generate",
        "seed": seed,
        "companies": companies,
        "years": years,
        "first_fiscal_year": LAST_FISCAL_YEAR - years + 1,
        "last_fiscal_year": LAST_FISCAL_YEAR,
        "files": len(results),
        "filings": sum(r.filings for r in results),
        "keys": sum(r.keys for r in results),
        "amendments": sum(r.amendments for r in results),
        "quarters": sum(r.quarters for r in results),
        "injected": injected,
        "corrected_by_amendment": sorted(
            (c for r in results for c in r.corrected),
            key=lambda d: (d["symbol"], d["fiscal_year"])),
        "seconds": round(time.perf_counter() - started, 3),
    }
    data = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    manifest_path(out_dir).write_bytes(data)
    return orjson.loads(data)  # exactly what a reader of the file sees (lists, not tuples)


def read_manifest(out_dir: Path) -> dict[str, Any]:
    return orjson.loads(manifest_path(out_dir).read_bytes())


# Rules between flows that a derived fourth quarter (FY - 9M, line by line) inherits from
# its fiscal year: EPS is not differenced (Q4 EPS is NULL) and the cash roll-forward is
# annual only; balance-sheet rules concern instants.
Q4_INHERITED_PREFIXES = ("is_", "cf_")
Q4_NOT_INHERITED = {"is_eps_basic", "cf_cash_rollforward"}


def iter_expected_failures(manifest: dict[str, Any], *, derived_q4: bool = True
                           ) -> Iterator[tuple[str, int, str, str]]:
    """(symbol, fiscal_year, fiscal_period, rule_id) of every injected error, and (unless
    `derived_q4` is False: a reading of the filings alone) of the derived Q4 that inherits
    it when the year has quarterly filings."""
    for item in manifest["injected"]:
        yield item["symbol"], item["fiscal_year"], item["fiscal_period"], item["rule_id"]
        rule = item["rule_id"]
        if (derived_q4 and item.get("has_quarters") and item["fiscal_period"] == "FY"
                and rule.startswith(Q4_INHERITED_PREFIXES) and rule not in Q4_NOT_INHERITED):
            yield item["symbol"], item["fiscal_year"], "Q4", rule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, required=True)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--errors", type=int, default=None,
                        help="injected tie-out errors (default max(16, companies/20))")
    parser.add_argument("--corrections", type=int, default=None,
                        help="errors corrected by a later amendment (default companies/100)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.companies, args.years, args.seed, args.errors,
                        args.corrections, args.jobs)
    print(f"{manifest['files']} files, {manifest['filings']} filings, {manifest['keys']} keys,"
          f" {len(manifest['injected'])} injected errors, {manifest['amendments']} amendments,"
          f" {manifest['quarters']} quarterly filings in {manifest['seconds']} s;"
          f" manifest: {manifest_path(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
