"""Scale benchmark: a deterministic synthetic filings generator and `make bench`."""
