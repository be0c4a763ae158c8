"""Row and rule labels for people: `total_assets` -> "Total assets".

Labels are derived from the contract's column names; the few words that do not
humanize by themselves (acronyms, "and" forms) are listed once here.
"""

from __future__ import annotations

from typing import Final

WORDS: Final = {
    "eps": "EPS",
    "fx": "FX",
    "oci": "OCI",
    "fy": "FY",
}

OVERRIDES: Final = {
    "property_plant_equipment_net": "Property, plant and equipment, net",
    "selling_general_administrative": "Selling, general and administrative",
    "research_and_development": "Research and development",
    "depreciation_and_amortization": "Depreciation and amortization",
    "cash_and_equivalents": "Cash and equivalents",
    "accumulated_oci": "Accumulated other comprehensive income",
    "eps_basic": "EPS, basic",
    "eps_diluted": "EPS, diluted",
    "net_income_to_parent": "Net income to parent",
    "net_income_to_noncontrolling": "Net income to noncontrolling interest",
    "net_cash_operating": "Net cash from operating activities",
    "net_cash_investing": "Net cash from investing activities",
    "net_cash_financing": "Net cash from financing activities",
    "fx_effect_on_cash": "Effect of FX on cash",
}

# Subtotals print bold in the statement tables.
TOTALS: Final = frozenset({
    "gross_profit", "operating_income", "pretax_income", "net_income", "total_current_assets",
    "total_assets", "total_current_liabilities", "total_liabilities", "stockholders_equity",
    "total_equity", "total_liabilities_and_equity", "net_cash_operating", "net_cash_investing",
    "net_cash_financing", "net_change_in_cash", "free_cash_flow", "revenue",
})


def line_item(name: str) -> str:
    if name in OVERRIDES:
        return OVERRIDES[name]
    words = [WORDS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]
